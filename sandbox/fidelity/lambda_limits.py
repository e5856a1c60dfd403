"""Lambda's limits on a function's configuration that moto does not check."""

from __future__ import annotations

import json
from typing import Any


# ---------------------------------------------------------------------------
# Lambda: layers on container images, security groups per function, 4 KB of environment
# ---------------------------------------------------------------------------
#
# AWS, and moto 5.2.1 accepts all three:
# - "Layers are supported only for Lambda functions deployed as a .zip file archive. For
#   functions defined as a container image, you package your preferred runtime and all
#   code dependencies when you create the container image" (Lambda developer guide,
#   "Managing Lambda dependencies with layers"): CreateFunction/UpdateFunctionConfiguration
#   with Layers on a PackageType Image function fail with InvalidParameterValueException.
# - VpcConfig.SecurityGroupIds: "Array Members: Maximum number of 5 items"
#   (API_VpcConfig): more fail the request's validation (ValidationException).
# - "Function environment variables: 4 KB, for all environment variables associated with
#   the function, in aggregate" (Lambda quotas): InvalidParameterValueException "Lambda was
#   unable to configure your environment variables because the environment variables you
#   have provided exceeded the 4KB limit." Measured here as the UTF-8 bytes of every key
#   and value.

MAX_GROUPS = 5
MAX_ENV_BYTES = 4096


def _env_bytes(variables: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())


def patch() -> None:
    from moto.awslambda import models as lm
    from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError

    class ValidationException(LambdaClientError):
        code = 400

        def __init__(self, message: str) -> None:
            super().__init__("ValidationException", message)
            self.description = json.dumps({"Type": "User", "message": message})

    def check(package_type: str, body: dict[str, Any]) -> None:
        if body.get("Layers") and package_type == "Image":
            raise InvalidParameterValueException(
                "Layers are supported only for functions deployed as a .zip file archive; "
                "this function's PackageType is Image."
            )
        groups = (body.get("VpcConfig") or {}).get("SecurityGroupIds") or []
        if len(groups) > MAX_GROUPS:
            raise ValidationException(
                f"1 validation error detected: Value '{groups}' at 'vpcConfig.securityGroupIds' failed to "
                f"satisfy constraint: Member must have length less than or equal to {MAX_GROUPS}"
            )
        variables = (body.get("Environment") or {}).get("Variables") or {}
        if _env_bytes(variables) > MAX_ENV_BYTES:
            raise InvalidParameterValueException(
                "Lambda was unable to configure your environment variables because the environment "
                "variables you have provided exceeded the 4KB limit. String measured: "
                + json.dumps(variables, separators=(",", ":"))
            )

    LB = lm.LambdaBackend
    orig_create = LB.create_function
    orig_update = LB.update_function_configuration

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        check(spec.get("PackageType") or "Zip", spec)
        return orig_create(self, spec)

    def update_function_configuration(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
        fn = self.get_function(function_name, qualifier)
        check(getattr(fn, "package_type", "Zip"), body)
        return orig_update(self, function_name, qualifier, body)

    LB.create_function = create_function
    LB.update_function_configuration = update_function_configuration
