export {PricingClient} from '@aws-sdk/client-pricing'
