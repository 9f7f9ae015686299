"""AWS Query protocol pieces for local stubs: form parameters in, XML responses out.

The response XML is generated from botocore's own service model (the output shape of the
operation), so whatever a stub returns has exactly the element names, list wrappers and value
formats boto3 parses from the real service.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape


def parse_form(body: str) -> dict[str, str]:
    """Decode an ``application/x-www-form-urlencoded`` body (last value wins)."""
    from urllib.parse import parse_qsl

    return dict(parse_qsl(body, keep_blank_values=True))


def member_list(params: Mapping[str, str], name: str) -> list[Any]:
    """Read a Query-protocol list ``Name.member.N[.Field]`` back into strings or dicts.

    ``EnvironmentNames.member.1=a`` -> ``["a"]``;
    ``OptionSettings.member.1.Namespace=x&OptionSettings.member.1.Value=y`` ->
    ``[{"Namespace": "x", "Value": "y"}]``.
    """
    pattern = re.compile(rf"^{re.escape(name)}\.member\.(\d+)(?:\.(.+))?$")
    items: dict[int, Any] = {}
    for key, value in params.items():
        match = pattern.match(key)
        if not match:
            continue
        index, field = int(match.group(1)), match.group(2)
        if field is None:
            items[index] = value
        else:
            items.setdefault(index, {})[field] = value
    return [items[i] for i in sorted(items)]


def parse_timestamp(value: str) -> dt.datetime:
    """Parse an ISO 8601 timestamp as botocore sends it (``...Z``, optional fraction)."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _format_scalar(shape: Any, value: Any) -> str:
    kind = shape.type_name
    if kind == "timestamp":
        if isinstance(value, dt.datetime):
            stamp: dt.datetime = value.astimezone(dt.UTC)
            return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        return str(value)
    if kind == "boolean":
        return "true" if value else "false"
    return str(escape(str(value)))


def _serialize(shape: Any, value: Any, tag: str) -> str:
    kind = shape.type_name
    if kind == "structure":
        inner = "".join(
            _serialize(member, value[name], member.serialization.get("name", name))
            for name, member in shape.members.items()
            if name in value and value[name] is not None
        )
        # Members the real service sends beyond botocore's public model (the EB CLI's own model
        # has ConfigurationSettingsDescription.Tier, and `eb health` reads it): plain string maps.
        inner += "".join(
            f"<{name}>" + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in extra.items())
            + f"</{name}>"
            for name, extra in value.items()
            if name not in shape.members and isinstance(extra, dict)
        )
        return f"<{tag}>{inner}</{tag}>"
    if kind == "list":
        member_tag = shape.member.serialization.get("name", "member")
        inner = "".join(_serialize(shape.member, item, member_tag) for item in value)
        if shape.serialization.get("flattened"):
            return inner
        return f"<{tag}>{inner}</{tag}>"
    if kind == "map":
        entries = "".join(
            f"<entry>{_serialize(shape.key, k, 'key')}{_serialize(shape.value, v, 'value')}</entry>"
            for k, v in value.items()
        )
        return f"<{tag}>{entries}</{tag}>"
    return f"<{tag}>{_format_scalar(shape, value)}</{tag}>"


def response_xml(
    service_model: Any,
    operation: str,
    result: Mapping[str, Any] | None,
    request_id: str | None = None,
) -> str:
    """The full XML response document for ``operation`` with ``result`` as its output."""
    op = service_model.operation_model(operation)
    namespace = service_model.metadata.get("xmlNamespace", "")
    body = ""
    if op.output_shape is not None:
        wrapper = op.output_shape.serialization.get("resultWrapper", f"{operation}Result")
        body = _serialize(op.output_shape, dict(result or {}), wrapper)
    return (
        f'<{operation}Response xmlns="{namespace}">{body}'
        f"<ResponseMetadata><RequestId>{request_id or uuid.uuid4()}</RequestId>"
        "</ResponseMetadata>"
        f"</{operation}Response>"
    )


def error_xml(service_model: Any, code: str, message: str, sender: bool = True) -> str:
    """The Query-protocol ``ErrorResponse`` document."""
    namespace = service_model.metadata.get("xmlNamespace", "")
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error>'
        f"<Type>{'Sender' if sender else 'Receiver'}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
