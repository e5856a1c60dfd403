"""Not fidelity: every test resets moto, so a reset must be cheap."""

from __future__ import annotations

import json
import os
from typing import Any

from . import core


# ---------------------------------------------------------------------------
# Speed (not fidelity): every test resets moto, so reset must be cheap
# ---------------------------------------------------------------------------


def patch() -> None:
    """moto 5.2.1 looks up each request's access key in all six IAM partitions, which
    creates six IAM backends that each parse ~1500 AWS managed policies (~0.1 s apiece,
    paid again on every reset). Look only in partitions that exist, and parse the policy
    data once. Behaviour is unchanged: a partition never used holds no access keys."""
    import moto.iam.models as im

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(dict.items(im.iam_backends)):
            for backend in list(dict.values(account)):
                if access_key in backend.access_keys:
                    return account_id
        return im.DEFAULT_ACCOUNT_ID

    im.get_account_id_from = get_account_id_from

    parsed: dict[str, Any] = {}

    def _init_aws_policies(self: Any) -> list[Any]:
        if not im.load_iam_aws_managed_policies():
            return []
        if not parsed:
            parsed.update(json.loads(im.aws_managed_policies_data))
        return [im.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, d) for name, d in parsed.items()]

    im.IAMBackend._init_aws_policies = _init_aws_policies

    # moto's server asks which services it has on every request (DomainDispatcherApplication.
    # get_backend_for_host): a listdir of its package and an isdir per entry, about 8% of the
    # server's CPU in a policy test. The answer cannot change while it runs.
    import moto.backends as mb

    modules = list(mb.list_of_moto_modules())
    mb.list_of_moto_modules = lambda: modules

    # Each EC2 backend, made again after every reset, builds moto's ~500 public AMIs (10% of the
    # server's CPU in a policy test). Neither cct nor the sandbox reads an image; moto's own
    # setting turns them off (it reads the environment each time a backend is made).
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
