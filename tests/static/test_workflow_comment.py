"""The comment job's find-and-update script, run by bash as the runner runs it (`bash -e -o pipefail`), against a
stand-in for the GitHub CLI: GitHub's API cannot be reached from here, so `gh` is a small script keeping the pull
request's comments in a JSON file; its `--jq` filter goes through the real jq, as gh applies it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aipx_runbook.report_markdown import MARKER
from paths import PROJECT_ROOT

pytestmark = pytest.mark.static
WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "runbook.yml"
FAKE_GH = """#!{python}
import json, subprocess, sys
from pathlib import Path
state = Path({state!r})
comments = json.loads(state.read_text())
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join(args) + "\\n")
assert args[0] == "api", args
method = args[args.index("--method") + 1] if "--method" in args else "GET"
path = next(a for a in args[1:] if a.startswith("repos/"))
if method == "GET":
    jq = args[args.index("--jq") + 1]
    sys.stdout.write(subprocess.run(["jq", "-r", jq], input=json.dumps(comments), capture_output=True, text=True,
                                    check=True).stdout)
else:
    body = Path(args[args.index("-F") + 1].removeprefix("body=@")).read_text()
    if method == "PATCH":
        comment_id = int(path.rsplit("/", 1)[1])
        next(c for c in comments if c["id"] == comment_id)["body"] = body
    else:
        comments.append({{"id": max([c["id"] for c in comments] or [0]) + 1, "body": body}})
    state.write_text(json.dumps(comments))
    print(json.dumps(comments[-1]))
"""


def _upsert_script() -> str:
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["comment"]
    return next(step["run"] for step in job["steps"] if step.get("name", "").startswith("Create or update"))


def test_the_comment_job_creates_one_comment_then_updates_it_on_each_push(tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed here (GitHub's runners have it); the script's filter needs it")
    state, log = tmp_path / "comments.json", tmp_path / "gh.log"
    state.write_text(json.dumps([{"id": 7, "body": "LGTM"}, {"id": 9, "body": "<!-- another-bot -->\nhello"}]))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH.format(python=sys.executable, state=str(state), log=str(log)))
    (bin_dir / "gh").chmod(0o755)
    script = tmp_path / "upsert.sh"
    script.write_text(_upsert_script())
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "example/aipx",
        "PR_NUMBER": "12",
        "GH_TOKEN": "not-a-token",
    }

    for push in ("first push", "second push"):
        (tmp_path / "comment.md").write_text(f"{MARKER}\n## AIPX Terraform plan\n\n{push}\n")
        subprocess.run(["bash", "-e", "-o", "pipefail", str(script)], cwd=tmp_path, env=env, check=True)

    comments = json.loads(state.read_text())
    ours = [c for c in comments if c["body"].startswith(MARKER)]
    assert len(comments) == 3 and len(ours) == 1, "one comment for the pull request, whatever the pushes"
    assert ours[0]["body"].endswith("second push\n")
    calls = log.read_text().splitlines()
    assert [c.split()[2] if "--method" in c else "GET" for c in calls] == ["GET", "POST", "GET", "PATCH"]
    assert "repos/example/aipx/issues/comments/10" in calls[3]
