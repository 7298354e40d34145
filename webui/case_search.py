"""办件查询: a member of staff finds the cases they may see — of their department and those they registered at the
window — by receipt number, applicant or item name, and sees where each stands. The cases come from the one case
query of the engine (`engine.supervision.cases` within `engine.supervision.reach`, the permission policy's
`case_reach`)."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required

from engine import policy
from engine.supervision import STATUSES, CaseFilter
from webui import case_view
from webui.context import engine

bp = Blueprint("case_search", __name__)
PER_PAGE = 20


@bp.get("/cases")
@login_required
def index():
    """The search form and one page of the cases found (newest first)."""
    eng = engine()
    who = current_user.user
    args = {k: v.strip() for k, v in request.args.items() if k in ("text", "status", "page") and v.strip()}
    f = CaseFilter.from_args({**args, "per_page": str(PER_PAGE)})
    result = eng.supervision.cases(eng.supervision.reach(who), f)

    def link(**changes) -> str:
        merged = {**args, **changes}
        return url_for("case_search.index", **{k: v for k, v in merged.items() if v is not None})

    elements = case_view.process_element_names(eng, {r["process"] for r in result.rows})
    return render_template("case_search.html", result=result, f=f, link=link, statuses=STATUSES, elements=elements,
                           supervises=bool(policy.decide(policy.subject(eng, who), "supervise")))  # fmt: skip
