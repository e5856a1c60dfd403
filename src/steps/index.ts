import type {Step} from '../engine/step.js'
import {alarmsStep} from './alarms.js'
import {attachStep} from './attach.js'
import {cacheStep} from './cache.js'
import {dashboardStep} from './dashboard.js'
import {envStep} from './env.js'
import {layerAttachStep} from './layer-attach.js'
import {layerStep} from './layer.js'
import {natStep} from './nat.js'
import {probeStep} from './probe.js'
import {securityGroupsStep} from './security-groups.js'
import {subnetGroupStep} from './subnet-group.js'
import {vpcStep} from './vpc.js'

/** Every step of a stack, in no particular order: the runner orders them by `needs`. */
export function allSteps(): Step[] {
  return [
    vpcStep,
    natStep,
    securityGroupsStep,
    subnetGroupStep,
    cacheStep,
    attachStep,
    layerStep,
    layerAttachStep,
    envStep,
    dashboardStep,
    probeStep,
    alarmsStep,
  ]
}
