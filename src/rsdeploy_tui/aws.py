"""boto3 clients for every AWS call the app makes, honouring the checklist's AWS vars.

``aws_region`` and ``aws_endpoint_url`` vars win; when empty, boto3's own chain applies (which
reads AWS_DEFAULT_REGION, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>). boto3 is imported
here, inside the function, so nothing pays for it at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def client(service: str, vars: Mapping[str, str] | None = None) -> Any:
    """A boto3 client for ``service`` (``s3``, ``elasticbeanstalk``, ``cloudwatch``, ``logs``).

    Args:
        service: boto3 service name.
        vars: Resolved checklist variables; ``aws_region`` and ``aws_endpoint_url`` are read.
    """
    import boto3
    from botocore.config import Config

    values = vars or {}
    kwargs: dict[str, Any] = {
        "config": Config(retries={"max_attempts": 3, "mode": "standard"},
                         connect_timeout=10, read_timeout=30),
    }
    if values.get("aws_region"):
        kwargs["region_name"] = values["aws_region"]
    if values.get("aws_endpoint_url"):
        kwargs["endpoint_url"] = values["aws_endpoint_url"]
    return boto3.session.Session().client(service, **kwargs)  # type: ignore[call-overload]
