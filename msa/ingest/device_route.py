"""The device API answered below Django's request machinery (design.md section 5, the hot path).

A device request went through Django's handler (the middleware chain with its exception
wrappers, the URL resolver) and then through django-ninja's generic operation (its parameter
models, a response object, its response model read through a getter): together about a sixth of
the machine thread's CPU for a position (docs/performance.md, step 21). Here the same steps are
called directly, for the operations of the device API:

- the machine middleware's own ``process_request``/``process_response``, as the chain calls
  them; a middleware that answers or refuses first (a host not allowed, a redirect) hands the
  request back to the full chain, which then answers it as it always did;
- the operation's authentication (the signature), its body model, its view (one service call)
  and its answer model, with ninja's renderer, and every error through the API's own exception
  handlers (:class:`~msa.core.api.MachineApi`); an exception none of them takes becomes Django's
  500, logged as Django logs it;
- the database deadline of every machine request (:func:`~msa.core.api.with_database_deadline`).

What it does not route (another path or method, the OpenAPI document) goes the full way. The
answers are the full chain's, byte for byte: ``msa/ingest/tests/test_device_route.py`` sends a
corpus of good and hostile requests both ways and compares status, headers and body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string
from ninja import Status
from ninja.errors import AuthenticationError, ConfigError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import Operation
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from msa.core.api import LockTaken, MachineApi, with_database_deadline

# What a middleware of the direct path may have: the chain calls nothing else of these.
_CHAIN_ONLY = ("process_view", "process_exception", "process_template_response")


@dataclass(frozen=True, slots=True)
class _Route:
    path: re.Pattern[str]
    method: str
    operation: Operation
    body_name: str
    body: type[BaseModel]
    answers: dict[int, type[BaseModel]]
    run: Callable[..., HttpResponseBase]


class DirectRoutes:
    """The operations of ``api`` (mounted at ``prefix``) that fit the direct path, and the
    middleware it calls. :meth:`answer` is the answer to a request, or ``None``: the full chain
    answers it."""

    def __init__(self, api: MachineApi, prefix: str, middleware: Sequence[str]) -> None:
        self._api = api
        self._middleware = [_instance(path) for path in middleware]
        self._routes = [
            route
            for _, router in api._routers
            for path, view in router.path_operations.items()
            for operation in view.operations
            if (route := self._route(prefix, path, operation)) is not None
        ]

    @property
    def routed(self) -> list[str]:
        """The paths it answers, as ninja names them (``/alarms/{alarm_id}/locations``)."""
        return [route.operation.path for route in self._routes]

    def _route(self, prefix: str, path: str, operation: Operation) -> _Route | None:
        """The operation as a route, or ``None`` when it uses what the direct path does not
        do (another parameter than its path's and one body, a response argument, throttles,
        a streamed answer, an async view, an answer without a model)."""
        kinds = {model.__ninja_param_source__ for model in operation.models}
        bodies = [m for m in operation.models if m.__ninja_param_source__ == "body"]
        # a path parameter of another type than text would be converted by ninja first
        path_types = {
            field.annotation
            for model in operation.models
            if model.__ninja_param_source__ == "path"
            for field in model.model_fields.values()
        }
        if (
            not path_types <= {str}
            or operation.is_async
            or len(operation.methods) != 1
            or not kinds <= {"path", "body"}
            or len(bodies) != 1
            or operation.signature.response_arg
            or operation.throttle_objects
            or operation.stream_format
            or not operation.auth_callbacks
        ):
            return None
        ((body_name, body_field),) = bodies[0].model_fields.items()
        answers = {}
        for status, model in operation.response_models.items():
            if not isinstance(status, int) or model is None:
                return None
            answers[status] = model.model_fields["response"].annotation
        body = body_field.annotation
        if not (isinstance(body, type) and issubclass(body, BaseModel)):
            return None
        # ninja's {name} is Django's <name>: one path segment
        pattern = re.escape(prefix.rstrip("/") + path)
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        return _Route(
            path=re.compile(pattern + r"\Z"),
            method=operation.methods[0],
            operation=operation,
            body_name=body_name,
            body=body,
            answers=answers,
            run=with_database_deadline(self._run_bound(operation), on_error=self._api._no_database),
        )

    def _run_bound(self, operation: Operation) -> Callable[..., HttpResponseBase]:
        def run(request: HttpRequest, route: _Route, path: dict[str, str]) -> HttpResponseBase:
            return self._run(request, route, path)

        run.__name__ = operation.view_func.__name__
        return run

    def answer(self, request: HttpRequest) -> HttpResponseBase | None:
        """The answer to ``request`` as the full chain would give it, or ``None`` when the
        full chain must answer (nothing was done then but the middleware's request steps, which
        change nothing)."""
        route, path = self._match(request)
        if route is None:
            return None
        for middleware in self._middleware:
            try:
                early = middleware.process_request(request)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - the full chain answers it as it always did
                return None
            if early is not None:
                return None
        try:
            response = route.run(request, route, path)
        except LockTaken:
            raise  # not answered here: the caller runs the request again (machine_asgi)
        except Exception as exc:  # noqa: BLE001 - what the chain's wrapper does: Django's 500
            response = response_for_exception(request, exc)
        for middleware in reversed(self._middleware):
            try:
                response = middleware.process_response(request, response)  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - as the chain's wrapper around it
                response = response_for_exception(request, exc)
        return response

    def _match(self, request: HttpRequest) -> tuple[_Route | None, dict[str, str]]:
        if not request.body:  # ninja validates no body at all in a way of its own
            return None, {}
        for route in self._routes:
            found = route.path.match(request.path_info)
            if found is not None and request.method == route.method:
                return route, found.groupdict()
        return None, {}

    def _run(self, request: HttpRequest, route: _Route, path: dict[str, str]) -> HttpResponseBase:
        """ninja's ``Operation.run`` for this operation, without its generic machinery."""
        api = self._api
        operation = route.operation
        if operation.csrf_exempt:
            request._ninja_csrf_exempt = True  # type: ignore[attr-defined]
        for callback in operation.auth_callbacks:
            try:
                caller = callback(request)
            except Exception as exc:  # noqa: BLE001 - the API's handlers answer it, as in ninja
                return api.on_exception(request, exc)
            if caller:
                request.auth = caller  # type: ignore[attr-defined]
                break
        else:
            return api.on_exception(request, AuthenticationError())
        try:
            try:
                data = api.parser.parse_body(request)
            except Exception as exc:
                detail = f" ({exc})" if settings.DEBUG else ""
                raise HttpError(400, f"Cannot parse request body{detail}") from exc
            try:
                payload = route.body.model_validate(data, context={"request": request})
            except PydanticValidationError as exc:
                raise _body_error(exc, route.body_name) from None
            result = operation.view_func(request, **path, **{route.body_name: payload})
            return self._answer(request, route, result)
        except Exception as exc:  # noqa: BLE001 - ninja's run: every error to the API's handlers
            return api.on_exception(request, exc)

    def _answer(self, request: HttpRequest, route: _Route, result: Any) -> HttpResponseBase:
        """ninja's ``_result_to_response``: the answer model of the status, dumped as the
        operation says, rendered by the API's renderer."""
        operation = route.operation
        if isinstance(result, HttpResponseBase):
            return result
        status = next(iter(route.answers)) if len(route.answers) == 1 else 200
        value = result.value if isinstance(result, Status) else result
        if not isinstance(value, dict):  # an object read through ninja's getter: ninja's own way
            temporal = self._api.create_temporal_response(request)
            return operation._result_to_response(request, result, temporal)
        if isinstance(result, Status):
            status, result = result.status_code, result.value
        model = route.answers.get(status)
        if model is None:
            raise ConfigError(f"Schema for status {status} is not set in response")
        context = {"request": request, "response_status": status}
        data = model.model_validate(result, context=context).model_dump(
            by_alias=operation.by_alias,
            exclude_unset=operation.exclude_unset,
            exclude_defaults=operation.exclude_defaults,
            exclude_none=operation.exclude_none,
            context=context,
        )
        response: HttpResponse = self._api.create_response(request, data, status=status)
        return response


def _body_error(exc: PydanticValidationError, name: str) -> NinjaValidationError:
    """The body's errors as ninja reports them: each location under ``body`` and the body
    parameter's name."""
    errors = []
    for error in exc.errors(include_url=False):
        item = dict(error)
        item["loc"] = ("body", name, *error["loc"])
        item.pop("input", None)
        errors.append(item)
    return NinjaValidationError(errors)


def _instance(path: str) -> MiddlewareMixin:
    """The middleware of ``path``, called step by step (it must be a ``MiddlewareMixin`` that
    the chain calls for requests and responses only)."""
    cls: type[MiddlewareMixin] = import_string(path)
    if not issubclass(cls, MiddlewareMixin) or any(hasattr(cls, name) for name in _CHAIN_ONLY):
        raise TypeError(f"{path}: not a middleware the direct path can call step by step")
    return cls(get_response=_unused)


def _unused(request: HttpRequest) -> HttpResponseBase:
    raise AssertionError("the direct path calls the middleware step by step")
