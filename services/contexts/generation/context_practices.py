"""Error handling, security and performance sections of a context file, by function kind."""

from __future__ import annotations

from services.contexts.generation.context_sections import raised_errors, validation_text
from services.contexts.generation.planned_task import PlannedTask

_SENSITIVE = ("password", "token", "secret", "email", "key")
_ERROR_HTTP = {
    "ValidationError": ("400 Bad Request", "The caller corrects the named field and retries"),
    "NotFoundError": ("404 Not Found", "Nothing to retry: the resource is not the caller's"),
    "AuthenticationError": ("401 Unauthorized", "The client refreshes its token and retries"),
    "DatabaseError": ("503 Service Unavailable", "Logged with the request id; safe to retry"),
    "ValueError": ("400 Bad Request", "The caller fixes the input"),
}


def error_handling(task: PlannedTask) -> list[str]:
    lines = ["## Error Handling", ""]
    first = task.parameters[0].name if task.parameters else "value"
    for number, (error, why) in enumerate(raised_errors(task), start=1):
        status, recovery = _ERROR_HTTP[error]
        lines += [
            f"### Error Case {number}: {error}",
            "```python",
            _raise(task, error, first),
            "```",
        ]
        if task.kind == "endpoint" or error == "DatabaseError":
            lines.append(f"**HTTP Code**: {status}  ")
        lines += [f"**Raised**: {why}  ", f"**Recovery**: {recovery}", ""]
    return lines


def _raise(task: PlannedTask, error: str, first: str) -> str:
    code = task.function_name.replace(".", "_").upper()
    if error == "ValidationError":
        return (
            f'raise ValidationError(code="INVALID_{first.upper()}", '
            f'message="{first} is invalid", field="{first}")'
        )
    if error == "NotFoundError":
        what = task.module or "resource"
        return f'raise NotFoundError(code="NOT_FOUND", message="{what} not found")'
    if error == "AuthenticationError":
        return 'raise AuthenticationError(code="UNAUTHORIZED", message="Missing or invalid token")'
    if error == "DatabaseError":
        return (
            f"except DBAPIError as exc:\n    raise ServiceUnavailable("
            f'code="{code}_DATABASE_UNAVAILABLE") from exc'
        )
    return f'raise ValueError("{task.function_name}: {first} cannot be processed")'


def security(task: PlannedTask) -> list[str]:
    http = task.http
    auth_required = bool(http and http.auth.lower() == "required")
    lines = ["## Security Considerations", "", "### Authentication"]
    if http:
        lines += [
            f"- **Required**: {'Yes' if auth_required else http.auth.capitalize()}",
            "- **Method**: JWT Bearer token in the `Authorization` header",
            "- **Token validation**: signature, expiry, issuer and audience are verified",
        ]
    else:
        lines.append(
            f"- Not checked here: `{task.function_name}` runs after the endpoint has "
            "authenticated the caller and receives the caller's id as an argument."
        )
    lines += ["", "### Authorization"]
    if task.kind in ("endpoint", "service", "repository"):
        lines.append(
            "- **Resource-based**: only the caller's own rows are read or changed; "
            "another user's resource answers exactly like a missing one"
        )
    else:
        lines.append(f"- Not applicable: a {task.kind} holds no user data of its own")
    lines += ["", "### Input Sanitization"]
    lines += [f"- `{p.name}` ({p.type}): {validation_text(p)}" for p in task.parameters]
    if task.database:
        lines.append("- SQL only with bound parameters, never string formatting")
    if not task.parameters and not task.database:
        lines.append("- No external input reaches this function")
    lines += ["", "### Data Protection"]
    sensitive = [p.name for p in task.parameters if any(w in p.name.lower() for w in _SENSITIVE)]
    if sensitive:
        lines.append(f"- Never log {', '.join(f'`{n}`' for n in sensitive)}; redact it in errors")
    lines += [
        "- Errors never echo internal details (SQL, stack traces) to the client",
        "- Responses carry only the caller's own data",
    ]
    lines += ["", "### Rate Limiting"]
    if http:
        lines.append(
            f"- `{http.method} {http.route}` counts against the per-user API limit; "
            "over it the client gets 429 with `Retry-After`"
        )
    else:
        lines.append("- Not applicable at this layer: limits apply at the API entry")
    return [*lines, ""]


_BUDGET = {
    "endpoint": "Response time under 200 ms at p95, database time under 50 ms",
    "service": "Under 150 ms at p95 including its repository calls",
    "repository": "Each query under 50 ms at p95, served by an index",
    "validator": "Under 1 ms: pure CPU work, no I/O",
    "util": "Under 1 ms: pure CPU work, no I/O",
}


def performance(task: PlannedTask) -> list[str]:
    lines = ["## Performance Considerations", "", "### Expected Performance"]
    lines += [f"- {_BUDGET[task.kind]}", "", "### Optimization Strategies"]
    if task.kind == "repository":
        tables = ", ".join(f"`{t.table}`" for t in task.database) or "its table"
        lines += [
            f"- Select only the needed columns of {tables}; paginate with a keyset cursor",
            "- One round trip per call: no query inside a loop (no N+1)",
        ]
    elif task.kind in ("endpoint", "service"):
        calls = ", ".join(f"`{d.function_name}`" for d in task.depends_on) or "its dependencies"
        lines += [
            f"- Call {calls} without repeating work; load related rows in one query",
            "- Reuse pooled database connections; hold no transaction across awaits on "
            "other services",
        ]
    else:
        lines += [
            "- Precompile regular expressions at import time",
            "- Avoid allocations in the hot path; it may run per request item",
        ]
    lines += [
        "",
        "### Monitoring",
        f"- Log `{task.function_name}` duration and outcome with the request id",
        "- Alert on error rate and on p95 above the budget",
    ]
    return [*lines, ""]
