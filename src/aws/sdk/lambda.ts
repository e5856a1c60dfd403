export {LambdaClient} from '@aws-sdk/client-lambda'
