/**
 * Bad input, as a new user types it (issue #12): every case exits with its documented code
 * (2 bad input, 3 credentials or profile, 5 a function cct cannot change), prints one line
 * on stderr that says what and how to fix it, and makes no mutating call. One sandbox,
 * seeded once, shared by every case (none of them may change it, which is the point).
 *
 * A cct process costs about 0.4 s of CPU before its first line runs, more than most of these
 * refusals: the cases run one after another in two long-lived hosts (test/support/cli-host.ts),
 * each as a process would run it (its own arguments, environment, working directory, call
 * log, output and exit code). The cases marked `process`, one per exit code and kind of
 * refusal (a bad flag value, oclif's parser, credentials, a function), and the --json case run
 * as real `cct` processes, so the binary's own exit codes and output stay proven.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {CreateSubnetCommand, CreateVpcCommand, EC2Client} from '@aws-sdk/client-ec2'
import {CreateFunctionCommand, LambdaClient, PublishLayerVersionCommand} from '@aws-sdk/client-lambda'

import {startSandbox, type Sandbox} from '../../sandbox/launcher.js'
import {demoFunctionZip, seedAccount, sharedUtilsLayerZip} from '../../sandbox/seed.js'
import {cli} from '../support/cct.js'
import {CliHost} from '../support/cli-host.js'

interface Case {
  /** What a user did wrong, in words. */
  what: string
  args: string[] | ((f: Fixtures) => string[])
  code: 2 | 3 | 5
  line: RegExp
  /** Files in the working directory (a cct.json). */
  files?: Record<string, string>
  env?: Record<string, string>
  /** Variables the process must not have (AWS_REGION, which beats cct.json's region). */
  unset?: string[]
  /** Run as a cct process of its own rather than in the shared host: these prove the real binary's exit codes. */
  process?: true
}

interface Fixtures {
  /** A VPC of the user's with two subnets in one AZ and two in two AZs. */
  vpcId: string
  oneAz: string[]
  twoAz: string[]
}

let sandbox: Sandbox
let fixtures: Fixtures

before(async () => {
  sandbox = await startSandbox({redis: false})
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  })
  delete process.env.AWS_PROFILE
  const seed = await seedAccount(sandbox)
  const config = {endpoint: sandbox.endpoint, region: sandbox.region, maxAttempts: 1}
  const lambda = new LambdaClient(config)
  // A function the layer cannot go on (its runtime), and one with Lambda's five layers already.
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: 'java-api',
      Runtime: 'java21',
      Handler: 'a.Handler::handle',
      Role: seed.roleArn,
      Code: {ZipFile: demoFunctionZip()},
    }),
  )
  const layers = [seed.layerArn]
  for (let i = 0; i < 4; i++) {
    layers.push(
      (
        await lambda.send(
          new PublishLayerVersionCommand({LayerName: `extra-${i}`, Content: {ZipFile: sharedUtilsLayerZip()}}),
        )
      ).LayerVersionArn!,
    )
  }
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: 'five-layers-api',
      Runtime: 'python3.12',
      Handler: 'index.handler',
      Role: seed.roleArn,
      Code: {ZipFile: demoFunctionZip()},
      Layers: layers,
    }),
  )
  const ec2 = new EC2Client(config)
  const {Vpc} = await ec2.send(new CreateVpcCommand({CidrBlock: '10.8.0.0/16'}))
  const subnet = async (cidr: string, az: string) =>
    (await ec2.send(new CreateSubnetCommand({VpcId: Vpc!.VpcId!, CidrBlock: cidr, AvailabilityZone: az}))).Subnet!
      .SubnetId!
  fixtures = {
    vpcId: Vpc!.VpcId!,
    oneAz: [await subnet('10.8.1.0/24', 'us-east-1a'), await subnet('10.8.2.0/24', 'us-east-1a')],
    twoAz: [await subnet('10.8.3.0/24', 'us-east-1a'), await subnet('10.8.4.0/24', 'us-east-1b')],
  }
})

/** Two: while one waits on the sandbox, the other runs. */
const hosts = [new CliHost(), new CliHost()]

after(async () => {
  await Promise.all(hosts.map((h) => h.stop()))
  await sandbox?.stop()
})

const UNKNOWN_VPC = 'vpc-0123456789abcdef0'
const UNKNOWN_SUBNETS = 'subnet-0123456789abcdef0,subnet-0123456789abcdef1'
const json = (value: unknown) => ({'cct.json': JSON.stringify(value)})

const cases: Case[] = [
  // Where cct talks to AWS, and as whom
  {
    what: 'an endpoint that is not a URL',
    args: ['vpc', '--endpoint-url', 'not-a-url'],
    process: true,
    code: 2,
    line: /--endpoint-url "not-a-url" is not an http\(s\) URL\. Pass e\.g\./,
  },
  {
    what: 'an endpoint with another scheme',
    args: ['status', '--endpoint-url', 'ftp://localhost:21'],
    code: 2,
    line: /"ftp:\/\/localhost:21" is not an http\(s\) URL/,
  },
  {
    what: 'a region name that is not one',
    args: ['vpc', '--region', 'moon'],
    code: 2,
    line: /--region "moon" is not an AWS region name/,
  },
  {
    what: 'a region AWS does not have',
    args: ['vpc', '--region', 'us-north-9'],
    code: 2,
    line: /--region "us-north-9" is not a region AWS has/,
  },
  {
    what: 'another region AWS does not have',
    args: ['plan', '--region', 'eu-west-99'],
    code: 2,
    line: /"eu-west-99" is not a region AWS has/,
  },
  {
    what: 'AWS_REGION that is not a region',
    args: ['status'],
    env: {AWS_REGION: 'US East'},
    code: 2,
    line: /AWS_REGION "US East" is not an AWS region name/,
  },
  {
    what: 'a profile that does not exist',
    args: ['vpc', '--profile', 'nope'],
    process: true,
    code: 3,
    line: /AWS profile "nope" \(--profile\) is not in .*config/,
  },
  {
    what: 'a request timeout that is not seconds',
    args: ['vpc'],
    env: {CCT_REQUEST_TIMEOUT: 'soon'},
    code: 2,
    line: /CCT_REQUEST_TIMEOUT=soon is not a positive number of seconds/,
  },
  {
    what: 'a negative connect timeout',
    args: ['status'],
    env: {CCT_CONNECT_TIMEOUT: '-1'},
    code: 2,
    line: /CCT_CONNECT_TIMEOUT=-1 is not a positive number/,
  },
  // Flags oclif parses
  {
    what: 'an unknown flag',
    args: ['vpc', '--cidrs', '10.0.0.0/16'],
    process: true,
    code: 2,
    line: /Nonexistent flag: --cidrs\. See `cct vpc --help`/,
  },
  {
    what: 'a flag given twice',
    args: ['cluster', '--node-type', 'cache.t3.micro', '--node-type', 'cache.t4g.micro'],
    code: 2,
    line: /--node-type can only be specified once/,
  },
  {
    what: 'an integer flag given a word',
    args: ['cluster', '--replicas', 'two'],
    code: 2,
    line: /--replicas: Expected an integer but received: two/,
  },
  {
    what: 'a wait timeout given a word',
    args: ['cluster', '--wait-timeout', 'long'],
    code: 2,
    line: /--wait-timeout: Expected an integer but received: long/,
  },
  {
    what: 'a zero wait timeout',
    args: ['cluster', '--wait-timeout', '0'],
    code: 2,
    line: /--wait-timeout 0 is not a positive number of seconds/,
  },
  {
    what: 'an engine cct does not support',
    args: ['cluster', '--engine', 'memcached'],
    code: 2,
    line: /Expected --engine=memcached to be one of: redis, valkey/,
  },
  {
    what: '--tls and --no-tls',
    args: ['cluster', '--tls', '--no-tls'],
    code: 2,
    line: /--tls and --no-tls contradict each other/,
  },
  {
    what: '--no-tls and --tls',
    args: ['setup', '--yes', '--no-tls', '--tls'],
    code: 2,
    line: /--tls and --no-tls contradict each other/,
  },
  {
    what: '--auto-cache and --no-auto-cache',
    args: ['env', '--auto-cache', '--no-auto-cache'],
    code: 2,
    line: /--auto-cache and --no-auto-cache contradict each other/,
  },
  {
    what: 'a config file that does not exist',
    args: ['status', '--config', '/nonexistent/cct.json'],
    code: 2,
    line: /Cannot read config file \/nonexistent\/cct\.json \(ENOENT\)/,
  },
  // The stack name
  {
    what: 'a stack name AWS would reject',
    args: ['vpc', '--stack', 'My_Stack'],
    code: 2,
    line: /Stack name "My_Stack" cannot be used/,
  },
  {what: 'a stack name with a double hyphen', args: ['sg', '--stack', 'a--b'], code: 2, line: /Stack name "a--b"/},
  {
    what: 'a stack name too long',
    args: ['cluster', '--stack', 'a'.repeat(31)],
    code: 2,
    line: /Stack name "a{31}" cannot be used/,
  },
  {
    what: 'a stack name starting with a digit',
    args: ['status', '--stack', '1shop'],
    code: 2,
    line: /Stack name "1shop"/,
  },
  {
    what: 'a stack name ending with a hyphen',
    args: ['rollback', '--yes', '--stack', 'shop-'],
    code: 2,
    line: /Stack name "shop-"/,
  },
  // The network
  {
    what: 'a malformed CIDR',
    args: ['vpc', '--cidr', '10.0.0/16'],
    code: 2,
    line: /"10\.0\.0\/16" is not an IPv4 CIDR block\. Write it as/,
  },
  {
    what: 'a CIDR with an octet over 255',
    args: ['vpc', '--cidr', '300.0.0.0/16'],
    code: 2,
    line: /"300\.0\.0\.0\/16" is not an IPv4 CIDR block/,
  },
  {
    what: 'a CIDR with host bits',
    args: ['vpc', '--cidr', '10.0.3.0/16'],
    code: 2,
    line: /has host bits set\. Did you mean 10\.0\.0\.0\/16\?/,
  },
  {
    what: 'a CIDR too small for two subnets',
    args: ['vpc', '--cidr', '10.0.0.0/24'],
    code: 2,
    line: /too small for two \/24 subnets\. Use a \/23 or larger/,
  },
  {
    what: 'a CIDR larger than AWS allows',
    args: ['vpc', '--cidr', '10.0.0.0/8'],
    code: 2,
    line: /AWS allows \/16 to \/28/,
  },
  {
    what: 'a subnet prefix AWS does not allow',
    args: ['vpc', '--subnet-prefix', '30'],
    code: 2,
    line: /--subnet-prefix 30 is outside AWS's \/16 to \/28/,
  },
  {
    what: 'a subnet prefix as large as the VPC',
    args: ['vpc', '--subnet-prefix', '16'],
    code: 2,
    line: /too small for two \/16 subnets/,
  },
  {
    what: 'a subnet prefix given a word',
    args: ['vpc', '--subnet-prefix', 'x'],
    code: 2,
    line: /--subnet-prefix: Expected an integer but received: x/,
  },
  {
    what: 'a malformed VPC id',
    args: ['vpc', '--vpc-id', 'my-vpc'],
    code: 2,
    line: /"my-vpc" \(--vpc-id\) is not a VPC id/,
  },
  {
    what: 'a malformed VPC id for sg',
    args: ['sg', '--vpc-id', 'vpc-xyz'],
    code: 2,
    line: /"vpc-xyz" \(--vpc-id\) is not a VPC id/,
  },
  {
    what: 'an unknown VPC',
    args: ['vpc', '--vpc-id', UNKNOWN_VPC],
    code: 2,
    line: /VPC vpc-0123456789abcdef0 does not exist in us-east-1/,
  },
  {
    what: 'an unknown VPC for setup',
    args: ['setup', '--yes', '--vpc-id', UNKNOWN_VPC],
    code: 2,
    line: /VPC vpc-0123456789abcdef0 does not exist/,
  },
  {
    what: '--vpc-id with --cidr',
    args: (f) => ['vpc', '--vpc-id', f.vpcId, '--cidr', '10.1.0.0/16'],
    code: 2,
    line: /--cidr cannot be used with --vpc-id: cct creates no VPC when it uses yours/,
  },
  {
    what: '--vpc-id with --cidr in setup',
    args: (f) => ['setup', '--yes', '--vpc-id', f.vpcId, '--cidr', '10.1.0.0/16'],
    code: 2,
    line: /--cidr cannot be used with --vpc-id/,
  },
  {
    what: 'your subnets with --nat',
    args: (f) => ['vpc', '--vpc-id', f.vpcId, '--subnet-ids', f.twoAz.join(','), '--nat'],
    code: 2,
    line: /--nat cannot be used with --subnet-ids/,
  },
  {
    what: 'a malformed subnet id',
    args: ['vpc', '--subnet-ids', 'subnet-1,subnet-2'],
    code: 2,
    line: /"subnet-1" \(--subnet-ids\) is not a subnet id/,
  },
  {
    what: 'one subnet',
    args: ['vpc', '--subnet-ids', 'subnet-0123456789abcdef0'],
    code: 2,
    line: /--subnet-ids needs at least two subnets/,
  },
  {
    what: 'an empty subnet list',
    args: ['vpc', '--subnet-ids', ''],
    code: 2,
    line: /--subnet-ids needs at least two subnets/,
  },
  {
    what: 'unknown subnets',
    args: ['vpc', '--subnet-ids', UNKNOWN_SUBNETS],
    code: 2,
    line: /Subnet subnet-0123456789abcdef0, subnet-0123456789abcdef1 does not exist/,
  },
  {
    what: 'an unknown subnet beside a real one',
    args: (f) => ['vpc', '--vpc-id', f.vpcId, '--subnet-ids', `${f.twoAz[0]},subnet-0123456789abcdef0`],
    code: 2,
    line: /Subnet subnet-0123456789abcdef0 does not exist/,
  },
  {
    what: 'subnets in one availability zone',
    args: (f) => ['vpc', '--vpc-id', f.vpcId, '--subnet-ids', f.oneAz.join(',')],
    code: 2,
    line: /are all in us-east-1a\. Pass subnets in at least two availability zones/,
  },
  {
    what: 'subnets of another VPC',
    args: (f) => ['vpc', '--vpc-id', UNKNOWN_VPC, '--subnet-ids', f.twoAz.join(',')],
    code: 2,
    line: /are not all in vpc-0123456789abcdef0/,
  },
  // The cache: what CreateReplicationGroup would refuse, refused before the first change
  {
    what: 'a misspelt node type (setup)',
    args: ['setup', '--yes', '--node-type', 'cache.t3.mirco'],
    code: 2,
    line: /cache\.t3\.mirco \(--node-type\) is not a node type ElastiCache offers in us-east-1\. Did you mean cache\.t3\.micro\?/,
  },
  {
    what: 'a misspelt node type (cluster)',
    args: ['cluster', '--node-type', 'cache.t4g.mikro'],
    code: 2,
    line: /Did you mean cache\.t4g\.micro\?/,
  },
  {
    what: 'a node type no region has',
    args: ['setup', '--yes', '--node-type', 'cache.x9.huge'],
    code: 2,
    line: /cache\.x9\.huge \(--node-type\) is not a node type ElastiCache offers/,
  },
  {
    what: 'a previous-generation node type',
    args: ['setup', '--yes', '--node-type', 'cache.t2.micro'],
    code: 2,
    line: /cache\.t2\.micro \(--node-type\) is a previous-generation node type/,
  },
  {
    what: 'a node type without its prefix',
    args: ['cluster', '--node-type', 't3.micro'],
    code: 2,
    line: /"t3\.micro" \(--node-type\) is not an ElastiCache node type/,
  },
  {
    what: 'an engine version that does not exist (setup)',
    args: ['setup', '--yes', '--engine-version', '99.9'],
    code: 2,
    line: /redis 99\.9 \(--engine-version\) is not an engine version ElastiCache offers in us-east-1\. Offered: 7\.1, 7\.0/,
  },
  {
    what: 'a Redis version asked of Valkey',
    args: ['cluster', '--engine', 'valkey', '--engine-version', '7.1'],
    code: 2,
    line: /valkey 7\.1 \(--engine-version\) is not an engine version ElastiCache offers/,
  },
  {
    what: 'an engine version that is not one',
    args: ['cluster', '--engine-version', 'latest'],
    code: 2,
    line: /"latest" \(--engine-version\) is not an engine version/,
  },
  {what: 'six replicas', args: ['cluster', '--replicas', '6'], code: 2, line: /--replicas 6 is outside 0-5/},
  {
    what: 'setup with six replicas',
    args: ['setup', '--yes', '--replicas', '6'],
    code: 2,
    line: /--replicas 6 is outside 0-5/,
  },
  // Functions
  {
    what: 'an empty function list (attach)',
    args: ['attach', '--functions', ''],
    code: 2,
    line: /--functions names no function/,
  },
  {
    what: 'an empty function list (setup)',
    args: ['setup', '--yes', '--functions', ','],
    code: 2,
    line: /--functions names no function/,
  },
  {
    what: 'an empty function list (env)',
    args: ['env', '--functions', ' '],
    code: 2,
    line: /--functions names no function/,
  },
  {
    what: 'a function name Lambda would reject',
    args: ['attach', '--functions', 'my api'],
    code: 2,
    line: /"my api" \(--functions\) is not a Lambda function name/,
  },
  {
    what: 'a function that does not exist (attach)',
    args: ['attach', '--functions', 'missing-api'],
    code: 2,
    line: /Function missing-api does not exist in us-east-1/,
  },
  {
    what: 'a function that does not exist (layer)',
    args: ['layer', '--functions', 'articles-api,missing-api'],
    code: 2,
    line: /Function missing-api does not exist/,
  },
  {
    what: 'a function that does not exist (setup)',
    args: ['setup', '--yes', '--functions', 'missing-api'],
    code: 2,
    line: /Function missing-api does not exist/,
  },
  {
    what: 'a runtime the layer is not built for (layer)',
    args: ['layer', '--functions', 'java-api'],
    code: 5,
    line: /Function java-api runs java21; the cache layer is built for/,
  },
  {
    what: 'a runtime the layer is not built for (setup)',
    args: ['setup', '--yes', '--functions', 'articles-api,java-api'],
    process: true,
    code: 5,
    line: /Function java-api runs java21/,
  },
  {
    what: 'a function with five layers already (layer)',
    args: ['layer', '--functions', 'five-layers-api'],
    code: 5,
    line: /Function five-layers-api already has 5 layers; Lambda allows 5/,
  },
  {
    what: 'a function with five layers already (setup)',
    args: ['setup', '--yes', '--functions', 'five-layers-api'],
    code: 5,
    line: /already has 5 layers/,
  },
  {
    what: 'alarms to something that is not an address',
    args: ['setup', '--yes', '--alarms', 'ops-team'],
    code: 2,
    line: /--alarms "ops-team" is neither an email address nor an SNS topic ARN/,
  },
  // Commands that ask, without a terminal
  {
    what: 'setup without --yes and without a terminal',
    args: ['setup'],
    code: 2,
    line: /cct setup needs a terminal to ask its questions\. Pass --yes/,
  },
  {
    what: 'rollback without --yes and without a terminal',
    args: ['rollback'],
    code: 2,
    line: /Rollback removes resources and needs a confirmation/,
  },
  // verify and cost
  {
    what: 'a Redis URL with a port over 65535',
    args: ['verify', '--redis-url', 'redis://h:99999'],
    code: 2,
    line: /--redis-url redis:\/\/h:99999: port 99999 is outside 1-65535/,
  },
  {
    what: 'a Redis URL that is http',
    args: ['verify', '--redis-url', 'http://localhost:6379'],
    code: 2,
    line: /is not a redis:\/\/ or rediss:\/\/ URL/,
  },
  {
    what: 'a Redis URL whose password is never printed',
    args: ['verify', '--redis-url', 'https://user:s3cret@localhost:6380'],
    code: 2,
    line: /^✖ --redis-url https:\/\/\*\*\*@localhost:6380 is not a redis/,
  },
  {
    what: 'negative hours',
    args: ['verify', '--hours', '-1'],
    code: 2,
    line: /--hours must be a positive number, got "-1"/,
  },
  {what: 'zero hours', args: ['verify', '--hours', '0'], code: 2, line: /--hours must be a positive number, got "0"/},
  {
    what: 'hours that are a word',
    args: ['verify', '--hours', 'day'],
    code: 2,
    line: /--hours must be a positive number, got "day"/,
  },
  {
    what: 'a hit-rate target over 100',
    args: ['verify', '--target', '200'],
    code: 2,
    line: /--target: Expected an integer less than or equal to 100 but received: 200/,
  },
  {
    what: 'a hit-rate target of 0',
    args: ['verify', '--target', '0'],
    code: 2,
    line: /--target: Expected an integer greater than or equal to 1/,
  },
  {
    what: 'traffic that is a word',
    args: ['verify', '--traffic', 'some'],
    code: 2,
    line: /--traffic: Expected an integer but received: some/,
  },
  {
    what: 'an event without --traffic',
    args: ['verify', '--event', 'e.json'],
    code: 2,
    line: /^✖ All of the following must be provided when using --event: --traffic\. See `cct verify --help`/,
  },
  {
    what: 'an event file that is missing',
    args: ['verify', '--traffic', '1', '--event', 'missing.json'],
    code: 2,
    line: /--event missing\.json cannot be read/,
  },
  {
    what: 'an event file that is not JSON',
    args: ['verify', '--traffic', '1', '--event', 'e.json'],
    files: {'e.json': '{"path": '},
    code: 2,
    line: /--event e\.json is not JSON/,
  },
  {
    what: 'verify of a stack that has no cache',
    args: ['verify'],
    code: 2,
    line: /Stack "cct" has no cache in us-east-1\. Run `cct setup` first/,
  },
  {
    what: 'cost over negative hours',
    args: ['cost', '--hours', '-1'],
    code: 2,
    line: /--hours must be a positive number/,
  },
  {what: 'cost of a stack that has no cache', args: ['cost'], code: 2, line: /Stack "cct" has no cache in us-east-1/},
  // cct.json: its own mistakes, and values named by their key in it
  {
    what: 'cct.json that is not JSON',
    args: ['status'],
    files: {'cct.json': '{"stack": "cct",}'},
    code: 2,
    line: /cct\.json is not valid JSON/,
  },
  {
    what: 'cct.json that is a list',
    args: ['status'],
    files: json(['cct']),
    code: 2,
    line: /cct\.json must hold a JSON object/,
  },
  {
    what: 'cct.json with an unknown field',
    args: ['vpc'],
    files: json({nodetype: 'cache.t3.micro'}),
    code: 2,
    line: /cct\.json: unknown field "nodetype"\. Known fields: stack/,
  },
  {
    what: 'cct.json with a number as a word',
    args: ['cluster'],
    files: json({replicas: 'two'}),
    code: 2,
    line: /cct\.json: "replicas" must be a number/,
  },
  {
    what: 'cct.json with a list as a word',
    args: ['attach'],
    files: json({functions: 'articles-api'}),
    code: 2,
    line: /cct\.json: "functions" must be a string\[\]/,
  },
  {
    what: 'cct.json with a misspelt node type',
    args: ['setup', '--yes'],
    files: json({nodeType: 'cache.t3.mirco'}),
    code: 2,
    line: /cache\.t3\.mirco \(cct\.json "nodeType"\) is not a node type ElastiCache offers/,
  },
  {
    what: 'cct.json with an engine version that does not exist',
    args: ['cluster'],
    files: json({engineVersion: '99.9'}),
    code: 2,
    line: /redis 99\.9 \(cct\.json "engineVersion"\) is not an engine version/,
  },
  {
    what: 'cct.json with a malformed CIDR',
    args: ['vpc'],
    files: json({cidr: '10.0.0/16'}),
    code: 2,
    line: /VPC CIDR \(cct\.json "cidr"\) "10\.0\.0\/16" is not an IPv4 CIDR block/,
  },
  {
    what: 'cct.json with a region that is not one',
    args: ['status'],
    files: json({region: 'moon'}),
    unset: ['AWS_REGION'],
    code: 2,
    line: /cct\.json "region" "moon" is not an AWS region name/,
  },
  {
    what: 'cct.json with a profile that does not exist',
    args: ['status'],
    files: json({profile: 'nope'}),
    code: 3,
    line: /AWS profile "nope" \(cct\.json "profile"\) is not in/,
  },
  {
    what: 'cct.json with a bad stack name',
    args: ['status'],
    files: json({stack: 'My_Stack'}),
    code: 2,
    line: /Stack name "My_Stack" \(cct\.json "stack"\) cannot be used/,
  },
  {
    what: 'cct.json with a VPC and a CIDR',
    args: ['vpc'],
    files: json({vpcId: UNKNOWN_VPC, cidr: '10.1.0.0/16'}),
    code: 2,
    line: /cct\.json "cidr" cannot be used with cct\.json "vpcId"/,
  },
  {
    what: '--cidr with a VPC in cct.json',
    args: ['vpc', '--cidr', '10.1.0.0/16'],
    files: json({vpcId: UNKNOWN_VPC}),
    code: 2,
    line: /--cidr cannot be used with cct\.json "vpcId"/,
  },
  {
    what: 'cct.json with an empty function list',
    args: ['attach'],
    files: json({functions: []}),
    code: 2,
    line: /cct\.json "functions" names no function/,
  },
  {
    what: 'cct.json with six replicas',
    args: ['cluster'],
    files: json({replicas: 6}),
    code: 2,
    line: /cct\.json "replicas" 6 is outside 0-5/,
  },
  {
    what: 'cct.json with NAT and your subnets',
    args: ['vpc'],
    files: json({nat: true, subnetIds: UNKNOWN_SUBNETS.split(',')}),
    code: 2,
    line: /cct\.json "nat" cannot be used with cct\.json "subnetIds"/,
  },
  {
    what: 'cct.json with a bad auto-cache TTL',
    args: ['env'],
    files: json({autoCacheTtls: {articles: -5}}),
    code: 2,
    line: /cct\.json "autoCacheTtls\.articles" must be seconds/,
  },
  {
    what: 'cct.json with alarms to nowhere',
    args: ['setup', '--yes'],
    files: json({alarms: 'ops-team'}),
    code: 2,
    line: /"ops-team" is neither an email address nor an SNS topic ARN/,
  },

  // A serverless cache has no nodes, shards or replicas, and is always TLS
  {
    what: 'a serverless cache with a node type',
    args: ['setup', '--yes', '--serverless', '--node-type', 'cache.t4g.micro'],
    code: 2,
    line: /--node-type cannot be used with --serverless: a serverless cache has no nodes to choose/,
  },
  {
    what: 'a serverless cache with shards',
    args: ['setup', '--yes', '--serverless', '--shards', '3'],
    code: 2,
    line: /--shards cannot be used with --serverless: a serverless cache scales itself/,
  },
  {
    what: 'a serverless cache with replicas',
    args: ['cluster', '--serverless', '--replicas', '1'],
    code: 2,
    line: /--replicas cannot be used with --serverless/,
  },
  {
    what: 'a serverless cache without TLS',
    args: ['setup', '--yes', '--serverless', '--no-tls'],
    code: 2,
    line: /--no-tls cannot be used with --serverless: a serverless cache always encrypts in transit/,
  },
  {
    what: 'a storage limit without --serverless',
    args: ['setup', '--yes', '--max-data-gb', '5'],
    code: 2,
    line: /--max-data-gb is a limit of a serverless cache; it cannot be used without --serverless/,
  },
  {
    what: 'a storage limit AWS does not take',
    args: ['setup', '--yes', '--serverless', '--max-data-gb', '6000'],
    code: 2,
    line: /--max-data-gb 6000 is outside 1-5000/,
  },
  {
    what: 'an ECPU limit below the least',
    args: ['cluster', '--serverless', '--max-ecpu', '10'],
    code: 2,
    line: /--max-ecpu 10 is outside 1000-15000000/,
  },
  {
    what: 'cct.json of a replication group, then --serverless',
    args: ['setup', '--yes', '--serverless'],
    files: json({nodeType: 'cache.t3.micro', replicas: 0}),
    code: 2,
    line: /cct\.json "nodeType" cannot be used with --serverless/,
  },
]

describe(`bad input is refused before any change (${cases.length} cases)`, {concurrency: hosts.length}, () => {
  cases.forEach((c, i) => {
    it(`${c.what}${c.process ? ' (a cct process)' : ''}`, async () => {
      const args = typeof c.args === 'function' ? c.args(fixtures) : c.args
      const env = {...sandbox.env, ...c.env}
      const options = {files: c.files, unset: c.unset}
      const result = c.process ? await cli(args, env, options) : await hosts[i % hosts.length]!.run(args, env, options)
      const shown = `cct ${args.join(' ')}\n${result.stderr}`
      assert.equal(result.code, c.code, `exit code of ${shown}`)
      const lines = result.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('⚠ '))
      assert.equal(lines.length, 1, `one line on stderr: ${shown}`)
      assert.match(lines[0]!, /^✖ /)
      assert.match(lines[0]!, c.line, shown)
      assert.deepEqual(result.mutating, [], `no mutating call: ${shown}`)
    })
  })

  it('--json reports the error in the envelope on stdout with the same exit code', async () => {
    const result = await cli(['vpc', '--cidr', 'nope', '--json'], sandbox.env)
    assert.equal(result.code, 2)
    const body = JSON.parse(result.stdout) as {
      ok: boolean
      command: string
      result: unknown
      error: {message: string; hint: string; exitCode: number}
    }
    assert.deepEqual([body.ok, body.command, body.result], [false, 'vpc', null])
    assert.match(body.error.message, /not an IPv4 CIDR/)
    assert.equal(body.error.exitCode, 2)
    assert.ok(body.error.hint)
  })
})
