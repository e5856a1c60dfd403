export {CloudWatchClient} from '@aws-sdk/client-cloudwatch'
