export {STSClient} from '@aws-sdk/client-sts'
