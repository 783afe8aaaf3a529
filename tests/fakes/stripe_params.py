"""What the fake Stripe server accepts, taken from the official SDK's own request types
(`stripe.params.*`, TypedDicts generated from Stripe's OpenAPI spec) and from Stripe's
API reference, so the fake refuses what Stripe refuses instead of taking anything.

- Parameter names and shapes: a key the SDK's TypedDict does not declare is
  `parameter_unknown` ("Received unknown parameter: ..."), a required one left out is
  `parameter_missing`, an integer that is not one `parameter_invalid_integer`, a value
  outside an enum's `Literal[...]` `parameter_invalid_string` (the SDK adds `| str` to
  enums for values of later API versions; the API of this version refuses them).
- Metadata (https://docs.stripe.com/api/metadata): "up to 50 keys, with key names up to
  40 characters long and values up to 500 characters long".
- Amounts: JPY is zero-decimal and its minimum charge is ¥50
  (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
- Konbini (https://docs.stripe.com/payments/konbini): minimum charge 120 JPY, maximum
  300,000 JPY; `expires_after_days` "between 1 and 60" (the SDK's
  SessionCreateParamsPaymentMethodOptionsKonbini docstring); `product_description` up
  to 22 characters.
- Checkout `expires_at` "can be anywhere from 30 minutes to 24 hours after Checkout
  Session creation" (the SDK's SessionCreateParams.expires_at docstring).
- Idempotency keys (https://docs.stripe.com/api/idempotent_requests): up to 255
  characters; "you can remove keys from the system automatically after they're at
  least 24 hours old"; results are saved only once the endpoint began executing, so a
  request refused for its parameters leaves nothing behind under its key.
"""

from __future__ import annotations

import builtins
import inspect
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any, ForwardRef, Literal, NotRequired, Required, Union, get_args, get_origin

JPY_MINIMUM_CHARGE = 50
KONBINI_MINIMUM, KONBINI_MAXIMUM = 120, 300_000
KONBINI_EXPIRES_AFTER_DAYS = (1, 60)
KONBINI_PRODUCT_DESCRIPTION_MAX = 22
METADATA_MAX_KEYS, METADATA_KEY_MAX, METADATA_VALUE_MAX = 50, 40, 500
CHECKOUT_EXPIRY_MIN_SECONDS, CHECKOUT_EXPIRY_MAX_SECONDS = 30 * 60, 24 * 3600
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 3600


class ParamError(Exception):
    """A request Stripe refuses (400, `invalid_request_error`)."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.param = code, param


class _Names(dict[str, Any]):
    """Names for evaluating the SDK's string annotations: the defining module's, and
    `Any` for what only exists under TYPE_CHECKING there."""

    def __init__(self, module: types.ModuleType) -> None:
        super().__init__()
        self.module = module

    def __missing__(self, name: str) -> Any:
        if hasattr(builtins, name):
            return getattr(builtins, name)
        return getattr(self.module, name, Any)


def _resolve(annotation: Any, module: types.ModuleType) -> Any:
    if isinstance(annotation, str):
        annotation = ForwardRef(annotation)
    if isinstance(annotation, ForwardRef):
        try:
            return eval(annotation.__forward_arg__, dict(vars(typing)), _Names(module))
        except Exception:
            return Any
    return annotation


def _fields(typed_dict: type) -> dict[str, tuple[Any, types.ModuleType, bool]]:
    """name -> (annotation, module to resolve it in, required)."""
    required: frozenset[str] = getattr(typed_dict, "__required_keys__", frozenset())
    found: dict[str, tuple[Any, types.ModuleType, bool]] = {}
    for klass in reversed(typed_dict.__mro__):
        module = sys.modules[klass.__module__]
        for name, annotation in inspect.get_annotations(klass).items():
            found[name] = (annotation, module, name in required)
    return found


def _is_typed_dict(value: Any) -> bool:
    # The SDK builds its params with typing_extensions.TypedDict, which typing's own
    # is_typeddict does not recognise.
    return (
        isinstance(value, type) and issubclass(value, dict) and hasattr(value, "__required_keys__")
    )


def check(params: Mapping[str, Any], typed_dict: type) -> None:
    """Refuse `params` (decoded from the form body) unless the SDK's TypedDict allows them."""
    _check_object(params, typed_dict, "")


def _check_object(value: Any, typed_dict: type, path: str) -> None:
    if not isinstance(value, Mapping):
        raise ParamError(
            f"Invalid object: {path or 'parameters'}", code="parameter_invalid_object", param=path
        )
    fields = _fields(typed_dict)
    for key, item in value.items():
        name = f"{path}[{key}]" if path else key
        if key not in fields:
            raise ParamError(
                f"Received unknown parameter: {name}", code="parameter_unknown", param=name
            )
        annotation, module, _ = fields[key]
        _check_value(item, annotation, module, name)
    for key, (_, _, required) in fields.items():
        if required and key not in value:
            name = f"{path}[{key}]" if path else key
            raise ParamError(
                f"Missing required param: {name}.", code="parameter_missing", param=name
            )


def _check_value(value: Any, annotation: Any, module: types.ModuleType, path: str) -> None:
    annotation = _resolve(annotation, module)
    origin = get_origin(annotation)
    if origin in (NotRequired, Required):
        _check_value(value, get_args(annotation)[0], module, path)
        return
    if annotation is Any or annotation is object:
        return
    if _is_typed_dict(annotation):
        _check_object(value, annotation, path)
        return
    if origin in (Union, types.UnionType):
        options = [_resolve(option, module) for option in get_args(annotation)]
        if value == "" and any(get_origin(o) is Literal and "" in get_args(o) for o in options):
            return  # Stripe's "unset this field"
        if any(get_origin(o) is Literal for o in options) and str in options:
            # `Literal[...] | str`: the SDK leaves enums open for values added by later
            # API versions; the API at this version takes only the listed ones.
            options = [o for o in options if o is not str]
        errors: list[ParamError] = []
        for option in options:
            try:
                _check_value(value, option, module, path)
                return
            except ParamError as error:
                errors.append(error)
        raise errors[0]
    if origin is Literal:
        allowed = [str(choice) for choice in get_args(annotation)]
        if value not in allowed:
            raise ParamError(
                f"Invalid {path}: must be one of {', '.join(allowed)}",
                code="parameter_invalid_string",
                param=path,
            )
        return
    if origin in (list, typing.List):  # noqa: UP006 (the SDK's annotations)
        if not isinstance(value, list):
            raise ParamError(f"Invalid array: {path}", code="parameter_invalid_array", param=path)
        (element,) = get_args(annotation) or (Any,)
        for index, item in enumerate(value):
            _check_value(item, element, module, f"{path}[{index}]")
        return
    untyped_object = getattr(annotation, "__name__", "") == "UntypedStripeObject"
    if origin in (dict, typing.Dict) or untyped_object:  # noqa: UP006
        if not isinstance(value, Mapping):
            raise ParamError(f"Invalid hash: {path}", code="parameter_invalid_object", param=path)
        return
    if annotation is int:
        if not isinstance(value, str) or not value.lstrip("-").isdigit():
            raise ParamError(
                f"Invalid integer: {value}", code="parameter_invalid_integer", param=path
            )
        return
    if annotation is bool:
        if value not in ("true", "false"):
            raise ParamError(
                f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=path
            )
        return
    if annotation is str:
        if not isinstance(value, str):
            raise ParamError(f"Invalid string: {path}", code="parameter_invalid_string", param=path)
        return
    # Anything else the SDK declares (floats, nested generics): accept as Stripe would.


def check_metadata(params: Mapping[str, Any], path: str = "") -> None:
    """Every `metadata` hash in the request, wherever it is nested."""
    for key, value in params.items():
        name = f"{path}[{key}]" if path else key
        if key == "metadata" and isinstance(value, Mapping):
            if len(value) > METADATA_MAX_KEYS:
                raise ParamError(
                    f"Invalid {name}: metadata cannot have more than {METADATA_MAX_KEYS} keys.",
                    code="parameter_invalid_object",
                    param=name,
                )
            for meta_key, meta_value in value.items():
                if len(meta_key) > METADATA_KEY_MAX:
                    raise ParamError(
                        f"Invalid {name}: keys can be a maximum of {METADATA_KEY_MAX} characters.",
                        code="parameter_invalid_string",
                        param=f"{name}[{meta_key}]",
                    )
                if isinstance(meta_value, str) and len(meta_value) > METADATA_VALUE_MAX:
                    raise ParamError(
                        f"Invalid {name}: values can be a maximum of {METADATA_VALUE_MAX} "
                        "characters.",
                        code="parameter_invalid_string",
                        param=f"{name}[{meta_key}]",
                    )
        elif isinstance(value, Mapping):
            check_metadata(value, name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    check_metadata(item, f"{name}[{index}]")
