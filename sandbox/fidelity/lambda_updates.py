"""Lambda RevisionId, and LastUpdateStatus InProgress for a while after each update."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

from . import core


# ---------------------------------------------------------------------------
# Lambda updates: RevisionId and LastUpdateStatus
# ---------------------------------------------------------------------------

_UPDATE_REASON = "The function is being created."
# What Lambda reports when it could not make the function's network interfaces
# (LastUpdateStatusReasonCode SubnetOutOfIPAddresses, API_FunctionConfiguration; the
# message is SubnetIPAddressLimitReachedException's).
_FAILED_CODE = "SubnetOutOfIPAddresses"
_FAILED_REASON = (
    "Lambda couldn't set up VPC access for the Lambda function because one or more "
    "configured subnets has no available IP addresses."
)
_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def _lambda_errors() -> dict[str, type]:
    """Lambda's own error shape: HTTP status, an x-amzn-ErrorType header naming the error
    (which the SDKs read as the error's name) and a body {"Type": "User", "message": ...}
    (the Lambda API model gives every error these two members, message in lower case)."""
    from moto.awslambda.exceptions import LambdaClientError

    class _LambdaUserError(LambdaClientError):
        def __init__(self, error: str, message: str):
            super().__init__(error, message)
            self.description = json.dumps({"Type": "User", "message": message})

    class PreconditionFailed(_LambdaUserError):
        code = 412

        def __init__(self) -> None:
            super().__init__("PreconditionFailedException", _REVISION_MISMATCH)

    class UpdateInProgress(_LambdaUserError):
        code = 409

        def __init__(self, arn: str) -> None:
            super().__init__(
                "ResourceConflictException",
                f"The operation cannot be performed at this time. An update is in progress for resource: {arn}",
            )

    return {"Precondition": PreconditionFailed, "InProgress": UpdateInProgress}


def _revision(fn: Any) -> str:
    """A function's current RevisionId (moto has none; objects made before install get one here)."""
    if getattr(fn, "_cct_revision", None) is None:
        fn._cct_revision = str(uuid.uuid4())
    return fn._cct_revision


def _updating(fn: Any) -> bool:
    return getattr(fn, "_cct_update_status", "Successful") == "InProgress"


def _fails(fn: Any) -> bool:
    """Whether the switch lambdaUpdatesFail names this function."""
    names = [n.strip() for n in str(core.config.get("lambdaUpdatesFail") or "").split(",")]
    return fn.function_name in names


def _unqualified_arn(fn: Any) -> str:
    return f"arn:{fn.partition}:lambda:{fn.region}:{fn.account_id}:function:{fn.function_name}"


def patch() -> None:
    """RevisionId and LastUpdateStatus, which moto 5.2.1 lacks (no RevisionId on functions
    at all; LastUpdateStatus always Successful; the RevisionId parameter is ignored).

    AWS (API_UpdateFunctionConfiguration, API_UpdateFunctionCode, API_FunctionConfiguration):
    - Every function configuration carries a RevisionId, "the latest updated revision of
      the function", returned by CreateFunction, GetFunction (Configuration),
      GetFunctionConfiguration, ListFunctions and both updates. Each update makes a new one.
      Tags are not part of the configuration: TagResource/UntagResource leave it as is.
    - Given a RevisionId, an update happens "only if the revision ID matches the ID that's
      specified"; otherwise HTTP 412 PreconditionFailedException ("Call GetFunction or
      GetAlias to retrieve the latest RevisionId for your resource").
    - "When you update a function, Lambda provisions an instance of the function and its
      supporting resources. If your function connects to a VPC, this process can take a
      minute. During this time, you can't modify the function" - LastUpdateStatus is
      InProgress (with a LastUpdateStatusReason; LastUpdateStatusReasonCode only reports
      failures), then Successful. Meanwhile UpdateFunctionConfiguration, UpdateFunctionCode
      and PublishVersion fail with HTTP 409 ResourceConflictException "The operation cannot
      be performed at this time. An update is in progress for resource: <arn>" (Lambda
      developer guide, "Lambda function states"; widely reported, e.g.
      cloud-custodian/cloud-custodian#7010, Optum/dce#418 for PublishVersion). Other
      functions are not affected.
    - When the update completes the RevisionId changes once more, so the one an update
      returned is stale after waiting: re-read it (GetFunction) before the next
      conditional update (reported in aws/aws-sdk#377: update returns v2, the waiter
      then sees v3, and an update with v2 fails with PreconditionFailedException).

    - An update can end Failed instead (LastUpdateStatus Failed, with LastUpdateStatusReason
      and LastUpdateStatusReasonCode, e.g. SubnetOutOfIPAddresses: "Lambda couldn't set up
      VPC access ... one or more configured subnets has no available IP addresses";
      API_FunctionConfiguration, "Lambda function states"). The status stays Failed until
      the next update; it does not stop one (only InProgress does).

    Here the update takes lambdaUpdateSeconds (0 = done at once, one new RevisionId); it
    ends Failed for the functions the switch lambdaUpdatesFail names ("a,b"), else Successful.
    """
    from moto.awslambda import models as lm

    err = _lambda_errors()
    LF = lm.LambdaFunction
    LB = lm.LambdaBackend

    orig_init = LF.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        orig_init(self, *args, **kwargs)
        self._cct_revision = str(uuid.uuid4())  # copies made of it (versions, answers) keep it

    LF.__init__ = __init__

    orig_get_configuration = LF.get_configuration

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = orig_get_configuration(self, on_create)
        config["RevisionId"] = _revision(self)
        if "LastUpdateStatus" in config:  # moto leaves it out of CreateFunction's answer, as AWS does
            config["LastUpdateStatus"] = getattr(self, "_cct_update_status", "Successful")
            if _updating(self):
                config["LastUpdateStatusReason"] = _UPDATE_REASON
            elif config["LastUpdateStatus"] == "Failed":
                config["LastUpdateStatusReason"] = _FAILED_REASON
                config["LastUpdateStatusReasonCode"] = _FAILED_CODE
        return config

    LF.get_configuration = get_configuration

    def begin_update(backend: Any, function_name: str, qualifier: str | None, body: dict[str, Any]) -> Any:
        """Refuse an update AWS would refuse; return the function it would change."""
        fn = backend.get_function(function_name, qualifier)  # ResourceNotFoundException first
        if _updating(fn):
            raise err["InProgress"](_unqualified_arn(fn))
        wanted = body.get("RevisionId")
        if wanted and wanted != _revision(fn):
            raise err["Precondition"]()
        return fn

    def end_update(fn: Any, answer: Any) -> Any:
        """The update happened: a new revision, InProgress for lambdaUpdateSeconds."""
        fn._cct_revision = str(uuid.uuid4())
        fn._cct_update_since = core.now()
        fn._cct_update_s = core.config["lambdaUpdateSeconds"]
        fn._cct_update_outcome = "Failed" if _fails(fn) else "Successful"
        fn._cct_update_status = "InProgress" if fn._cct_update_s > 0 else fn._cct_update_outcome
        if isinstance(answer, dict):
            for key in ("LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
                answer.pop(key, None)
            answer.update({k: v for k, v in fn.get_configuration().items()
                           if k in ("RevisionId", "LastUpdateStatus", "LastUpdateStatusReason",
                                    "LastUpdateStatusReasonCode")})
        return answer

    orig_update_configuration = LB.update_function_configuration
    orig_update_code = LB.update_function_code
    orig_publish = LB.publish_version

    def update_function_configuration(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
        fn = begin_update(self, function_name, qualifier, body)
        return end_update(fn, orig_update_configuration(self, function_name, qualifier, body))

    def update_function_code(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
        fn = begin_update(self, function_name, qualifier, body)
        answer = orig_update_code(self, function_name, qualifier, body)
        if body.get("DryRun"):
            return answer  # validated, nothing changed
        end_update(fn, None if body.get("Publish") else answer)  # with Publish, moto answers with the version
        return answer

    def publish_version(self: Any, function_name: str, description: str = "") -> Any:
        try:
            fn = self.get_function(function_name)
        except Exception:
            fn = None  # moto's own publish_version reports what is wrong
        if fn is not None and _updating(fn):
            raise err["InProgress"](_unqualified_arn(fn))
        version = orig_publish(self, function_name, description)
        # A new version is a copy of $LATEST; on AWS it has a RevisionId of its own.
        if version is not None and version is not fn and not getattr(version, "_cct_version_revision", False):
            version._cct_version_revision = True
            version._cct_revision = str(uuid.uuid4())
        return version

    LB.update_function_configuration = update_function_configuration
    LB.update_function_code = update_function_code
    LB.publish_version = publish_version


def sweep(now: float) -> None:
    from moto.awslambda.models import lambda_backends

    for backend in core.backends(lambda_backends):
        _sweep_backend(backend, now)


def _sweep_backend(backend: Any, now: float) -> None:
    """Finish the updates that are due: Successful, and (as on AWS) one more RevisionId."""
    for group in list(backend._lambdas._functions.values()):
        fn = group.get("latest")
        if fn is not None and _updating(fn) and now - fn._cct_update_since >= fn._cct_update_s:
            fn._cct_update_status = getattr(fn, "_cct_update_outcome", "Successful")
            fn._cct_revision = str(uuid.uuid4())
