"""IAM authorization as AWS checks it, where moto's own check (INITIAL_NO_AUTH_ACTION_COUNT) falls short.

moto checks a request's IAM action against the caller's policies once its
INITIAL_NO_AUTH_ACTION_COUNT requests are used up (the launcher's `noAuthActions`, or
POST /moto-api/reset-auth at run time: "0" turns the check on, "inf" off). Its check differs
from AWS's in three ways this module corrects:

- The action's prefix is the request's signing name: CloudWatch is signed as `monitoring`,
  so moto asks for `monitoring:PutDashboard`. IAM's prefix is `cloudwatch`
  (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
- Requests the fidelity package answers itself never reach moto's check: Lambda Invoke
  (`lambda:InvokeFunction`, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)
  and the Price List API's GetProducts (`pricing:GetProducts`). `authorize()` checks them.
- moto answers a refusal in its XML shape whatever the protocol; Lambda and the JSON
  services answer `AccessDeniedException` as JSON, which is what the SDKs parse.
- moto miscomputes the signature of Lambda's REST requests; for Lambda only the key and its
  policies are checked.
- A function's own calls (its SDK, through the edge) are signed with the sandbox's stand-in
  role credentials (invoke.DUMMY_CREDENTIALS), which moto's IAM does not know; on AWS they
  are the execution role's and its policies apply. The sandbox lets them through unchecked:
  it does not model execution-role policies.

What moto does not check at all (not modelled here): actions AWS authorizes besides the
call (ec2:CreateTags for TagSpecifications, iam:PassRole, lambda:GetLayerVersion,
elasticache:AddTagsToResource, iam:CreateServiceLinkedRole), conditions on Allow statements
other than trust policies, and resource ARNs (moto compares a statement's Resource with
"*" for most services).
"""

from __future__ import annotations

import re
from typing import Any

SIGNING_TO_IAM = {"monitoring": "cloudwatch"}
FUNCTION_KEY = "ASIASANDBOXEXAMPLE00"


def enforced() -> bool:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def _from_function(headers: Any) -> bool:
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    return f"Credential={FUNCTION_KEY}/" in auth


def patch() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import JsonRESTError, _RESTError
    from moto.iam.access_control import IAMRequestBase

    original_init = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        prefix, _, name = self._action.partition(":")
        if prefix in SIGNING_TO_IAM:
            self._action = f"{SIGNING_TO_IAM[prefix]}:{name}"

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]

    # moto 5.2.1 computes a different SigV4 signature for Lambda's REST requests than the SDKs
    # (any Lambda call by a known key fails SignatureDoesNotMatch): for Lambda the key and its
    # policies are checked, not the signature.

    original_signature = IAMRequestBase.check_signature

    def check_signature(self: Any) -> None:
        if self._service == "lambda":
            return
        original_signature(self)

    IAMRequestBase.check_signature = check_signature  # type: ignore[method-assign]

    original_check = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def check(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if enforced() and _from_function(self.headers):
            return
        try:
            original_check(self, iam_request_cls, resource)
        except _RESTError as e:
            if _json_protocol(self) and not isinstance(e, JsonRESTError):
                error = JsonRESTError(JSON_ERROR_TYPES.get(e.error_type, e.error_type), e.message)
                error.code = e.code
                raise error from e
            raise

    ActionAuthenticatorMixin._authenticate_and_authorize_action = check  # type: ignore[method-assign]


# AWS's names for these errors in JSON protocols.
JSON_ERROR_TYPES = {"AccessDenied": "AccessDeniedException", "InvalidClientTokenId": "UnrecognizedClientException"}


def _json_protocol(response: Any) -> bool:
    """The request came in a JSON protocol (Lambda's REST JSON, JSON 1.0/1.1: DynamoDB, and
    CloudWatch, which the SDKs now call in JSON though botocore's model still says query)."""
    content_type = response.headers.get("Content-Type") or response.headers.get("content-type") or ""
    if "json" in content_type or response.headers.get("X-Amz-Target") or response.headers.get("x-amz-target"):
        return True
    try:
        from moto.core.responses import get_service_model

        return get_service_model(response.boto3_service_name).protocol in ("json", "rest-json")
    except Exception:
        return False


def authorize(environ: dict[str, Any], action: str) -> tuple[str, str, str] | None:
    """For a request the fidelity package answers itself: None when allowed (or nothing is
    enforced), else (HTTP status, error type, message) as AWS answers. Signatures are not
    checked here, only the caller's key and policies."""
    if not enforced():
        return None
    headers = {"Authorization": environ.get("HTTP_AUTHORIZATION", "")}
    if environ.get("HTTP_X_AMZ_SECURITY_TOKEN"):
        headers["X-Amz-Security-Token"] = environ["HTTP_X_AMZ_SECURITY_TOKEN"]
    if _from_function(headers):
        return None
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.access_control import IAMRequest
    from moto.iam.models import get_account_id_from

    found = re.search(r"Credential=([^/]+)/", headers["Authorization"])
    if not found:
        return "403 Forbidden", "MissingAuthenticationTokenException", "Missing Authentication Token"
    try:
        request = IAMRequest(account_id=get_account_id_from(found.group(1)), method="POST", path="/", data={},
                             body=b"", headers=headers, action=action.split(":", 1)[1])
        request._action = action
        request.check_action_permitted("*")
    except AccessDeniedError as e:
        return "403 Forbidden", "AccessDeniedException", e.message
    except Exception as e:  # an unknown key: InvalidClientTokenId
        return "403 Forbidden", "UnrecognizedClientException", getattr(e, "message", None) or str(e)
    return None
