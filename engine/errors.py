"""The specific errors the services raise; the CLI, the web pages and the API turn them into clear messages."""

from __future__ import annotations


class GovflowError(Exception):
    """Base: str() is one clear line for a person. A refusal of the permission policy also carries its reason
    as a message key and parameters (`engine.policy.MESSAGES`), for the pages to say it in their language."""

    http_status = 400

    def __init__(self, *args, key: str | None = None, params: dict | None = None):
        super().__init__(*args)
        self.key = key
        self.params = dict(params or {})


class NotFound(GovflowError):
    http_status = 404


class Forbidden(GovflowError):
    http_status = 403


class Conflict(GovflowError):
    """The thing changed under the caller: already completed, claimed by someone else, lost a race."""

    http_status = 409


class InvalidData(GovflowError):
    """Submitted data is not acceptable; `errors` lists (field, message) pairs."""

    http_status = 422

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.errors = errors or []


class LintFailed(GovflowError):
    """A BPMN file has findings; deploying it is refused."""

    http_status = 422

    def __init__(self, findings):
        self.findings = findings
        super().__init__("\n".join(f.format() for f in findings))


class ProcessIdTaken(LintFailed):
    """A file's process id is already deployed from another file, and the deployer did not say it is a new
    version of that process."""

    http_status = 409


class CaseNotRunning(Conflict):
    pass


class CaseScriptError(GovflowError):
    """A script, condition or timer in the diagram failed; the case was marked `error`."""

    http_status = 409

    def __init__(self, case_id: str, element_id: str | None, message: str):
        self.case_id = case_id
        self.element_id = element_id
        self.message = message
        super().__init__(f"case {case_id} stopped at {element_id or 'the process'}: {message}")
