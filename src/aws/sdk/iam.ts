export {IAMClient} from '@aws-sdk/client-iam'
