"""The AWS Price List API (`pricing:GetProducts`), which moto does not have, from a small
catalogue of real-shaped products.

AWS ("Using the AWS Price List Query API", Billing and Cost Management User Guide;
API_pricing_GetProducts): a JSON 1.1 service (`X-Amz-Target: AWSPriceListService.GetProducts`)
served only from us-east-1, eu-central-1 and ap-south-1, whatever region the prices are for
(the `regionCode` attribute). GetProducts takes a ServiceCode and TERM_MATCH filters on product
attributes (`productFamily` included) and answers `PriceList`, one JSON document per product
as a string: `{"product": {"productFamily", "attributes", "sku"}, "serviceCode", "terms":
{"OnDemand": {...}, "Reserved": {...}}, "version", "publicationDate"}`, 100 per page with
NextToken. A caller whose policies lack the action gets 400 AccessDeniedException.

The catalogue holds what cct prices, in two regions: us-east-1 (the same prices as cct's
offline table, so figures that tests check hold either way) and eu-west-1 (which the offline
table lacks): ElastiCache nodes (Redis and Valkey, and one Memcached node that a filter must
leave out, with a reserved term that is not on-demand), ElastiCache Serverless storage
(GB-hours) and ECPUs per engine, NAT gateway hours and bytes,
DynamoDB on-demand and provisioned reads (with the Standard-IA variants and the free tier),
Lambda GB-seconds (x86 and Arm, tiered). Prices are modelled on the public list prices of
2025; they stand in for AWS's, they are not a price source.

Sandbox differences, each documented: only TERM_MATCH filters (others answer
InvalidParameterException); attribute names and values match case-insensitively; a request
signed for a region without the API answers `EndpointNotFound` (a client there would fail to
resolve api.pricing.<region>.amazonaws.com; the sandbox has one endpoint for every region).
`pricingAccessDenied` (core.config) makes every GetProducts answer AccessDeniedException.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import Any

from . import core, iam_auth

TARGET = "AWSPriceListService."
API_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
ON_DEMAND = "JRTCKXETXF"
RATE = "6YS6EN2CT7"

REGIONS = {
    # regionCode: (location, usage type prefix of ElastiCache/DynamoDB/Lambda, of EC2)
    "us-east-1": ("US East (N. Virginia)", "", ""),
    "eu-west-1": ("Europe (Ireland)", "EU-", "EU-"),
}

# Redis OSS on-demand $/node-hour; Valkey is 20% less (as AWS prices it).
REDIS_HOURLY = {
    "us-east-1": {
        "cache.t4g.micro": 0.016, "cache.t3.micro": 0.017, "cache.t4g.small": 0.032, "cache.t3.small": 0.034,
        "cache.t4g.medium": 0.065, "cache.t3.medium": 0.068, "cache.m7g.large": 0.158, "cache.m6g.large": 0.149,
        "cache.r7g.large": 0.219, "cache.r6g.large": 0.206,
    },
    "eu-west-1": {
        "cache.t4g.micro": 0.018, "cache.t3.micro": 0.019, "cache.t4g.small": 0.035, "cache.t3.small": 0.037,
        "cache.t4g.medium": 0.071, "cache.t3.medium": 0.074, "cache.m7g.large": 0.174, "cache.m6g.large": 0.164,
        "cache.r7g.large": 0.241, "cache.r6g.large": 0.227,
    },
}
# ElastiCache Serverless: $/GB-hour of data stored, $/ECPU ("ElastiCache pricing": us-east-1 Valkey
# $0.084/GB-hour and $0.0023 per million ECPUs, Redis OSS $0.125 and $0.0034; eu-west-1 a
# stand-in about 10% above). The usage types are modelled on third-party readings of the Price
# List (USE1-ElastiCache:ServerlessStorage); cct picks products by unit, not by usage type.
SERVERLESS = {
    "us-east-1": {"Valkey": (0.084, 0.0023e-6), "Redis": (0.125, 0.0034e-6)},
    "eu-west-1": {"Valkey": (0.0924, 0.0025e-6), "Redis": (0.1375, 0.0037e-6)},
}
SERVERLESS_PREFIX = {"us-east-1": "USE1-", "eu-west-1": "EU-"}
NAT = {"us-east-1": (0.045, 0.045), "eu-west-1": (0.048, 0.048)}  # $/hour, $/GB processed
DYNAMODB = {  # $/read request unit (on-demand), $/RCU-hour (provisioned); IA is 25% more per read
    "us-east-1": (0.000000125, 0.00013),
    "eu-west-1": (0.0000001413, 0.0001471),
}
LAMBDA_TIERS = {  # $/GB-second: first 6 billion, next 9 billion, over 15 billion GB-seconds a month
    "x86": (0.0000166667, 0.0000150000, 0.0000133334),
    "arm": (0.0000133334, 0.0000120001, 0.0000106667),
}
PUBLISHED = {
    "AmazonElastiCache": "2025-10-14T21:46:52Z",
    "AmazonEC2": "2025-10-21T19:03:11Z",
    "AmazonDynamoDB": "2025-09-30T17:22:05Z",
    "AWSLambda": "2025-10-02T22:41:37Z",
}


def _sku(*parts: str) -> str:
    return base64.b32encode(hashlib.sha256("|".join(parts).encode()).digest()).decode()[:16]


def _dimension(sku: str, term: str, rate: str, unit: str, usd: float, description: str,
               begin: str = "0", end: str = "Inf") -> dict[str, Any]:
    code = f"{sku}.{term}.{rate}"
    return {code: {"unit": unit, "endRange": end, "description": description, "appliesTo": [],
                   "rateCode": code, "beginRange": begin, "pricePerUnit": {"USD": f"{usd:.10f}"}}}


def _product(service: str, family: str, attributes: dict[str, str], dimensions: list[dict[str, Any]],
             reserved: dict[str, Any] | None = None) -> dict[str, Any]:
    sku = attributes.pop("_sku")
    priced: dict[str, Any] = {}
    for d in dimensions:
        priced.update(d)
    terms: dict[str, Any] = {"OnDemand": {f"{sku}.{ON_DEMAND}": {
        "priceDimensions": priced, "sku": sku, "effectiveDate": PUBLISHED[service][:10] + "T00:00:00Z",
        "offerTermCode": ON_DEMAND, "termAttributes": {}}}}
    if reserved:
        terms["Reserved"] = reserved
    return {
        "product": {"productFamily": family, "attributes": {"servicecode": service, **attributes}, "sku": sku},
        "serviceCode": service,
        "terms": terms,
        "version": PUBLISHED[service].replace("-", "").replace(":", "").replace("T", "")[:14],
        "publicationDate": PUBLISHED[service],
    }


def _catalogue() -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    for region, (location, prefix, ec2_prefix) in REGIONS.items():
        where = {"location": location, "locationType": "AWS Region", "regionCode": region}
        for node, redis in REDIS_HOURLY[region].items():
            for engine, usd in (("Redis", redis), ("Valkey", round(redis * 0.8, 6))):
                sku = _sku("elasticache", region, engine, node)
                term = "HU7G6KETJZ"  # 1 year, partial upfront: a Reserved term, never an on-demand price
                reserved = {f"{sku}.{term}": {"priceDimensions": {
                    **_dimension(sku, term, RATE, "Hrs", round(usd * 0.45, 6), f"{engine}, {node} reserved instance applied"),
                    **_dimension(sku, term, "2TG2D8R56U", "Quantity", round(usd * 0.45 * 8760, 2), "Upfront Fee"),
                }, "sku": sku, "offerTermCode": term, "effectiveDate": "2025-10-14T00:00:00Z",
                    "termAttributes": {"LeaseContractLength": "1yr", "PurchaseOption": "Partial Upfront"}}}
                products.append(_product("AmazonElastiCache", "Cache Instance", {
                    "_sku": sku, **where, "instanceType": node, "currentGeneration": "Yes", "cacheEngine": engine,
                    "usagetype": f"{prefix}NodeUsage:{node}", "operation": f"CreateCacheCluster:{engine}",
                    "servicename": "Amazon ElastiCache"},
                    [_dimension(sku, ON_DEMAND, RATE, "Hrs", usd, f"${usd} per On Demand {engine} {node} Instance Hour")],
                    reserved))
        sku = _sku("elasticache", region, "Memcached", "cache.t3.micro")
        memcached = REDIS_HOURLY[region]["cache.t3.micro"]
        products.append(_product("AmazonElastiCache", "Cache Instance", {
            "_sku": sku, **where, "instanceType": "cache.t3.micro", "currentGeneration": "Yes", "cacheEngine": "Memcached",
            "usagetype": f"{prefix}NodeUsage:cache.t3.micro", "operation": "CreateCacheCluster:0001",
            "servicename": "Amazon ElastiCache"},
            [_dimension(sku, ON_DEMAND, RATE, "Hrs", memcached, f"${memcached} per On Demand Memcached cache.t3.micro Instance Hour")]))

        for engine, (storage, ecpu) in SERVERLESS[region].items():
            for usage, unit, usd, what in (
                    ("ServerlessStorage", "GB-Hrs", storage, "per GB-hour of data stored"),
                    ("ServerlessUsage", "ECPU", ecpu, "per ElastiCache Processing Unit")):
                sku = _sku("elasticache-serverless", region, engine, usage)
                products.append(_product("AmazonElastiCache", "ElastiCache Serverless", {
                    "_sku": sku, **where, "cacheEngine": engine,
                    "usagetype": f"{SERVERLESS_PREFIX[region]}ElastiCache:{usage}",
                    "operation": f"CreateServerlessCache:{engine}", "servicename": "Amazon ElastiCache"},
                    [_dimension(sku, ON_DEMAND, RATE, unit, usd, f"${usd:.10f} {what} ({engine} Serverless)")]))

        hour, gb = NAT[region]
        for usage, unit, usd, what in (("NatGateway-Hours", "Hrs", hour, "per NAT Gateway Hour"),
                                       ("NatGateway-Bytes", "GB", gb, "per GB Data Processed by NAT Gateways")):
            sku = _sku("nat", region, usage)
            products.append(_product("AmazonEC2", "NAT Gateway", {
                "_sku": sku, **where, "group": "NGW:NatGateway", "groupDescription": "Hourly charge for NAT Gateways",
                "usagetype": f"{ec2_prefix}{usage}", "operation": "NatGateway", "servicename": "Amazon Elastic Compute Cloud"},
                [_dimension(sku, ON_DEMAND, RATE, unit, usd, f"${usd} {what}")]))

        read, rcu = DYNAMODB[region]
        for ia in ("", "IA-"):
            sku = _sku("ddb-ondemand", region, ia)
            usd = read * (1.25 if ia else 1)
            products.append(_product("AmazonDynamoDB", "Amazon DynamoDB PayPerRequest Throughput", {
                "_sku": sku, **where, "group": f"DDB-ReadUnits{'IA' if ia else ''}",
                "groupDescription": "DynamoDB PayPerRequest Read Request Units", "usagetype": f"{prefix}{ia}ReadRequestUnits",
                "operation": "PayPerRequestThroughput", "servicename": "Amazon DynamoDB"},
                [_dimension(sku, ON_DEMAND, RATE, "ReadRequestUnits", usd, f"${usd * 1e6:.4f} per million read request units")]))
            sku = _sku("ddb-provisioned", region, ia)
            usd = rcu * (1.25 if ia else 1)
            products.append(_product("AmazonDynamoDB", "Provisioned IOPS", {
                "_sku": sku, **where, "group": "DDB-ReadUnits", "groupDescription": "DynamoDB Provisioned Read Units",
                "usagetype": f"{prefix}{ia}ReadCapacityUnit-Hrs", "operation": "CommittedThroughput",
                "servicename": "Amazon DynamoDB"},
                [_dimension(sku, ON_DEMAND, "E7MJSFWKN2", "ReadCapacityUnit-Hrs", 0, "$0.00 per hour for 25 units of read capacity for a month (free tier)", "0", "18600"),
                 _dimension(sku, ON_DEMAND, RATE, "ReadCapacityUnit-Hrs", usd, f"${usd} per hour for units of read capacity beyond the free tier", "18600")]))
        sku = _sku("ddb-provisioned-write", region)
        products.append(_product("AmazonDynamoDB", "Provisioned IOPS", {
            "_sku": sku, **where, "group": "DDB-WriteUnits", "groupDescription": "DynamoDB Provisioned Write Units",
            "usagetype": f"{prefix}WriteCapacityUnit-Hrs", "operation": "CommittedThroughput", "servicename": "Amazon DynamoDB"},
            [_dimension(sku, ON_DEMAND, RATE, "WriteCapacityUnit-Hrs", rcu * 5, f"${rcu * 5} per hour for units of write capacity")]))

        for arch, suffix, group in (("x86", "", "AWS-Lambda-Duration"), ("arm", "-ARM", "AWS-Lambda-Duration-ARM")):
            sku = _sku("lambda", region, arch)
            first, second, third = LAMBDA_TIERS[arch]
            products.append(_product("AWSLambda", "Serverless", {
                "_sku": sku, **where, "group": group, "groupDescription": "Invocation duration in GB-seconds",
                "usagetype": f"{prefix}Lambda-GB-Second{suffix}", "operation": "Invoke", "servicename": "AWS Lambda"},
                [_dimension(sku, ON_DEMAND, "ZK5LYWBAHR", "Lambda-GB-Second", third, f"AWS Lambda - Total Compute{' (Arm)' if suffix else ''} - Tier 3", "15000000000"),
                 _dimension(sku, ON_DEMAND, RATE, "Lambda-GB-Second", first, f"AWS Lambda - Total Compute{' (Arm)' if suffix else ''} - Tier 1", "0", "6000000000"),
                 _dimension(sku, ON_DEMAND, "3MA5UWKXEP", "Lambda-GB-Second", second, f"AWS Lambda - Total Compute{' (Arm)' if suffix else ''} - Tier 2", "6000000000", "15000000000")]))
    return products


CATALOGUE = _catalogue()


class PricingError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _matches(product: dict[str, Any], field: str, value: str) -> bool:
    fields = {"productfamily": product["product"]["productFamily"], "sku": product["product"]["sku"],
              **{k.lower(): v for k, v in product["product"]["attributes"].items()}}
    found = fields.get(field.lower())
    return found is not None and found.lower() == value.lower()


def get_products(request: dict[str, Any]) -> dict[str, Any]:
    service = request.get("ServiceCode")
    if not service:
        raise PricingError("InvalidParameterException", "ServiceCode is required")
    if request.get("FormatVersion", "aws_v1") != "aws_v1":
        raise PricingError("InvalidParameterException", f"Unsupported FormatVersion {request.get('FormatVersion')}")
    size = request.get("MaxResults", 100)
    if not isinstance(size, int) or not 1 <= size <= 100:
        raise PricingError("InvalidParameterException", "MaxResults must be between 1 and 100")
    filters = request.get("Filters") or []
    for f in filters:
        if f.get("Type") != "TERM_MATCH":
            raise PricingError("InvalidParameterException", f"the sandbox models only TERM_MATCH filters, got {f.get('Type')!r}")
    found = [p for p in CATALOGUE if p["serviceCode"] == service
             and all(_matches(p, f.get("Field", ""), f.get("Value", "")) for f in filters)]
    start = 0
    if request.get("NextToken"):
        try:
            start = int(base64.b64decode(request["NextToken"]).decode())
        except ValueError:
            raise PricingError("InvalidNextTokenException", "The NextToken is not valid") from None
    page = found[start:start + size]
    answer: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in page]}
    if start + size < len(found):
        answer["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
    return answer


def _scope_region(environ: dict[str, Any]) -> str | None:
    found = re.search(r"Credential=[^/]+/\d+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else None


def _answer(start_response: Any, status: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data))),
                            ("x-amzn-RequestId", str(uuid.uuid4())), *(headers or {}).items()])
    return [data]


def _error(start_response: Any, error_type: str, message: str) -> list[bytes]:
    return _answer(start_response, "400 Bad Request", {"__type": error_type, "Message": message}, {"x-amzn-ErrorType": error_type})


def route(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target.startswith(TARGET) or environ.get("REQUEST_METHOD") != "POST":
        return None
    operation = target[len(TARGET):]
    region = _scope_region(environ)
    if region and region not in API_REGIONS:
        return _error(start_response, "EndpointNotFound",
                      f"no Price List API in {region}: api.pricing.{region}.amazonaws.com does not exist "
                      f"(it answers in {', '.join(API_REGIONS)})")
    if operation != "GetProducts":
        return _error(start_response, "UnknownOperationException", f"the sandbox's Price List API answers GetProducts only, not {operation}")
    denied = iam_auth.authorize(environ, "pricing:GetProducts")
    if denied:
        return _error(start_response, denied[1], denied[2])
    if core.config.get("pricingAccessDenied"):
        return _error(start_response, "AccessDeniedException",
                      "User: arn:aws:iam::123456789012:user/test is not authorized to perform: pricing:GetProducts "
                      "because no identity-based policy allows the pricing:GetProducts action")
    size = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        request = json.loads(environ["wsgi.input"].read(size) or b"{}")
        return _answer(start_response, "200 OK", get_products(request))
    except PricingError as e:
        return _error(start_response, e.error_type, str(e))
    except (ValueError, AttributeError) as e:
        return _error(start_response, "SerializationException", str(e))


def patch() -> None:
    """Nothing of moto's to patch: route() answers the Price List API before moto sees it."""
