"""Apply and destroy with the real Terraform binary against the moto server: only this run's reviewed plan,
each refusal with its reason, the approval gates (headless parameters; in a real Jupyter kernel, a click the
cell waits for), streaming output, what a failed apply leaves, and a destroy that never touches the backend."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from aipx_runbook import plans, runbook, stages
from aipx_runbook.context import open_stage
from aipx_runbook.errors import ApprovalRequired, RunbookError, TerraformError
from aipx_runbook.stack_files import file_sha256
from paths import PROJECT_ROOT

pytestmark = pytest.mark.integration
SMOKE = PROJECT_ROOT / "terraform" / "smoke"
BACKEND = 'terraform {\n  backend "s3" {}\n}\nvariable "environment" {\n  type = string\n}\n'
ELAPSED = re.compile(r"^\[\s*(\d+\.\d)s\] (.*)$")


class Run:
    """One environment's run directory with the backend created and the stack initialised."""

    def __init__(self, environment: str, run_dir: Path, stack: str = "smoke") -> None:
        self.environment, self.run_dir, self.stack = environment, run_dir, stack
        stages.backend_setup(self.at("backend"))
        stages.init(self.at("init"))

    def at(self, stage: str, **overrides: str):
        options = {
            "environment": self.environment,
            "target": "local",
            "stack": self.stack,
            "run_dir": str(self.run_dir),
        }
        return open_stage(stage, **{**options, **overrides})

    def state(self) -> dict:
        ctx = self.at("verify")
        s3 = ctx.target.client("s3")
        listing = s3.list_objects_v2(Bucket=ctx.settings.state_bucket, Prefix=ctx.settings.state_key)
        if not listing.get("Contents"):
            return {}
        return json.loads(s3.get_object(Bucket=ctx.settings.state_bucket, Key=ctx.settings.state_key)["Body"].read())


def _stack(folder: Path, body: str) -> str:
    folder.mkdir(parents=True)
    (folder / "main.tf").write_text(BACKEND + body)
    return str(folder)


@pytest.fixture
def dev(moto_server, reset_emulator, tmp_path) -> Run:
    return Run("dev", tmp_path / "run")


# ---- the saved plan ----------------------------------------------------------------------------------------


def test_the_plan_is_described_in_the_run_directory_and_kept_private(dev) -> None:
    report = stages.plan(dev.at("plan"))
    meta = json.loads((dev.run_dir / "tfplan.meta.json").read_text())
    plan_file = plans.plan_path(dev.at("plan"), plans.PLAN)
    assert not (dev.run_dir / "tfplan").exists(), "the plan holds secrets: it stays out of the run directory"
    assert plan_file.stat().st_mode & 0o777 == 0o600 and plan_file.parent.stat().st_mode & 0o777 == 0o700
    assert meta["sha256"] == file_sha256(plan_file) == report.facts["plan_sha256"]
    assert (meta["environment"], meta["stack"], meta["target"]) == ("dev", "smoke", "local")
    assert meta["terraform_version"] == "1.11.4" and meta["run_dir"] == str(dev.run_dir)
    assert meta["has_changes"] is True and meta["summary"]["outputs_changed"] == report.facts["outputs_changed"]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("nothing planned", "no saved plan in"),
        ("plan file edited", "the plan file changed after it was saved (hash mismatch)"),
        ("other environment", "it was made for environment 'dev', not 'staging'"),
        ("other target", "it was made for target 'local', not 'aws'"),
        ("other run", "it was made by another run"),
        ("applied already", "no longer in the plan store"),
    ],
)
def test_apply_refuses_any_plan_but_this_runs_own(dev, tmp_path, tamper, reason) -> None:
    ctx = dev.at("apply")
    if tamper != "nothing planned":
        stages.plan(dev.at("plan"))
    if tamper == "plan file edited":
        with plans.plan_path(ctx, plans.PLAN).open("ab") as handle:
            handle.write(b"\0")
    elif tamper == "other environment":
        ctx = dev.at("apply", environment="staging")
    elif tamper == "other target":
        ctx = dev.at("apply", target="aws")
    elif tamper == "other run":
        other = tmp_path / "other-run"
        other.mkdir()
        shutil.copy(dev.run_dir / "tfplan.meta.json", other / "tfplan.meta.json")
        ctx = dev.at("apply", run_dir=str(other))
    elif tamper == "applied already":
        stages.apply(ctx, auto_approve=True)
    state_before = dev.state()
    with pytest.raises(RunbookError) as caught:
        stages.apply(ctx, auto_approve=True, confirm="production")
    assert reason in caught.value.why
    assert "plan" in caught.value.fix
    assert dev.state() == state_before, "a refused apply changes nothing"


def test_apply_refuses_a_plan_of_another_stack_or_of_a_stack_edited_since(
    moto_server, reset_emulator, tmp_path
) -> None:
    folder = tmp_path / "edited"
    run = Run("dev", tmp_path / "run", _stack(folder, 'output "a" {\n  value = 1\n}\n'))
    stages.plan(run.at("plan"))
    with pytest.raises(RunbookError, match="made for stack 'edited', not 'smoke'"):
        stages.apply(run.at("apply", stack="smoke"), auto_approve=True)
    (folder / "extra.tf").write_text('output "b" {\n  value = 2\n}\n')
    with pytest.raises(RunbookError, match="changed since the plan was made") as caught:
        stages.apply(run.at("apply"), auto_approve=True)
    assert "the stack's files (edited/) changed" in caught.value.why
    assert "aws.tfvars" not in caught.value.why, "only the actual mismatch is named"
    assert run.state() == {}


# ---- approval ------------------------------------------------------------------------------------------------


def test_headless_apply_needs_auto_approve_and_production_also_confirm(moto_server, reset_emulator, tmp_path) -> None:
    production = Run("production", tmp_path / "run")
    stages.plan(production.at("plan"))
    with pytest.raises(ApprovalRequired) as caught:
        stages.apply(production.at("apply"))
    assert "not approved in a headless run" in caught.value.why and "to add" in caught.value.why
    assert (
        "auto_approve = True in the parameters cell" in caught.value.fix and "-p auto_approve True" in caught.value.fix
    )
    assert "confirm = 'production' in the parameters cell" in caught.value.fix
    with pytest.raises(ApprovalRequired):
        stages.apply(production.at("apply"), auto_approve=True, confirm="prod")
    assert production.state() == {}
    report = stages.apply(production.at("apply"), auto_approve=True, confirm="production")
    assert report.facts["applied"] is True and report.facts["approved_by"] == "parameters"
    stages.plan(production.at("plan"))
    again = stages.apply(production.at("apply"))
    assert again.summary == "No changes in the saved plan: nothing to apply." and again.facts["applied"] is False


# ---- streaming and failure -----------------------------------------------------------------------------------


def test_apply_streams_terraform_output_line_by_line_with_elapsed_time(moto_server, reset_emulator, tmp_path, capsys):
    stack = _stack(
        tmp_path / "slow",
        'resource "terraform_data" "slow" {\n  provisioner "local-exec" {\n    command = "sleep 1.5"\n  }\n}\n',
    )
    run = Run("dev", tmp_path / "run", stack)
    stages.plan(run.at("plan"))
    capsys.readouterr()
    stages.apply(run.at("apply"), auto_approve=True)
    lines = [ELAPSED.match(line) for line in capsys.readouterr().out.splitlines()]
    timed = {match.group(2): float(match.group(1)) for match in lines if match}
    creating = next(t for text, t in timed.items() if text.startswith("terraform_data.slow: Creating..."))
    complete = next(t for text, t in timed.items() if text.startswith("terraform_data.slow: Creation complete"))
    # the provisioner sleeps 1.5 s between the two lines; printed at the end they would carry the same time
    assert complete - creating >= 1.0, "each line is printed when Terraform writes it, not at the end"


def test_a_failed_apply_gives_the_hint_the_lock_and_what_was_created(moto_server, reset_emulator, tmp_path) -> None:
    stack = _stack(
        tmp_path / "breaks",
        'resource "terraform_data" "created" {}\n'
        'resource "terraform_data" "broken" {\n  depends_on = [terraform_data.created]\n'
        '  provisioner "local-exec" {\n    command = "exit 3"\n  }\n}\n',
    )
    run = Run("dev", tmp_path / "run", stack)
    stages.plan(run.at("plan"))
    with pytest.raises(TerraformError) as caught:
        stages.apply(run.at("apply"), auto_approve=True)
    error = caught.value
    assert error.what == "terraform apply" and "local-exec provisioner error" in error.why
    assert "State lock: released" in error.details
    assert "Already in the state (2)" in error.details and "terraform_data.created" in error.details
    ctx = run.at("apply")
    lock_id = f"{ctx.settings.state_bucket}/{ctx.settings.state_key}"
    item = ctx.target.client("dynamodb").get_item(TableName=ctx.settings.lock_table, Key={"LockID": {"S": lock_id}})
    assert "Item" not in item, "Terraform released the lock and the stage says so"
    record = json.loads((run.run_dir / "stages" / "apply.json").read_text())
    assert record["status"] == "fail" and record["facts"] == {"failed": True, "in_state": 2, "lock_held": False}
    assert not plans.plan_path(ctx, plans.PLAN).exists(), "a partly applied plan is stale: it is deleted"
    assert {r["name"] for r in run.state()["resources"]} == {"created", "broken"}


# ---- destroy -------------------------------------------------------------------------------------------------


def test_destroy_reviews_first_needs_the_name_and_keeps_the_backend(dev) -> None:
    stages.plan(dev.at("plan"))
    stages.apply(dev.at("apply"), auto_approve=True)
    review = stages.destroy_plan(dev.at("destroy"))
    assert review.facts["outputs_changed"] == len(dev.state()["outputs"])
    assert any("are not part of the stack and stay" in note for note in review.notes)
    with pytest.raises(ApprovalRequired, match="confirm is 'staging'"):
        stages.destroy(dev.at("destroy"), confirm="staging")
    report = stages.destroy(dev.at("destroy"), confirm="dev")
    assert report.facts["destroyed"] is True and report.facts["approved_by"] == "parameters"
    ctx = dev.at("verify")
    ctx.target.client("s3").head_bucket(Bucket=ctx.settings.state_bucket)
    table = ctx.target.client("dynamodb").describe_table(TableName=ctx.settings.lock_table)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert dev.state()["outputs"] == {} and dev.state()["resources"] == []
    assert not plans.plan_path(ctx, plans.DESTROY_PLAN).exists()


def test_destroying_production_needs_a_second_approval_and_explains_deletion_protection(
    moto_server, reset_emulator, tmp_path
) -> None:
    production = Run("production", tmp_path / "run")
    stages.plan(production.at("plan"))
    stages.apply(production.at("apply"), auto_approve=True, confirm="production")
    review = stages.destroy_plan(production.at("destroy"))
    assert any("rds_deletion_protection = true" in note for note in review.notes)
    with pytest.raises(ApprovalRequired) as caught:
        stages.destroy(production.at("destroy"), confirm="production")
    assert "allow_production_destroy = True" in caught.value.fix
    assert "deletion protection" in caught.value.fix and "rds_deletion_protection = false" in caught.value.fix
    assert production.state()["outputs"], "nothing was destroyed"
    stages.destroy(production.at("destroy"), confirm="production", allow_production_destroy=True)
    assert production.state()["outputs"] == {}


# ---- the notebook --------------------------------------------------------------------------------------------


@pytest.mark.notebooks
def test_in_the_executed_notebook_terraform_output_arrives_as_stream_outputs(moto_server, monkeypatch) -> None:
    result = runbook.run("dev", stage_names=["00", "01", "02", "03", "04"], parameters={"auto_approve": True})
    assert result.ok, [(s.name, s.error) for s in result.stages]
    executed = nbformat.read(result.run_dir / "04_apply.ipynb", as_version=4)
    cell = next(c for c in executed.cells if c.cell_type == "code" and "stages.apply(" in c.source)
    streamed = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
    lines = [line for o in streamed for line in o.text.splitlines()]
    assert any(ELAPSED.match(line) and "Apply complete!" in line for line in lines)
    decisions = [line for line in lines if line.startswith("APPROVED by parameters at ")]
    assert len(decisions) == 1 and "apply the saved plan for dev (plan sha256 " in decisions[0], (
        "the decision on record"
    )
    assert all(ELAPSED.match(line) for line in lines if line.strip() and line not in decisions)


# ---- a person at the keyboard: a real kernel, a real widget, a click -----------------------------------------


class Kernel:
    """A Jupyter kernel driven as JupyterLab drives it: cells with allow_stdin, widget messages on the shell."""

    def __init__(self) -> None:
        self.manager, self.client = start_new_kernel(
            kernel_name="python3", extra_arguments=["--IPKernelApp.log_level=ERROR"]
        )
        self.messages: list[dict] = []

    def execute(self, code: str) -> str:
        # stop_on_error=False: a refused approval is an expected error and must not abort the next cells
        return self.client.execute(code, allow_stdin=True, stop_on_error=False)

    def wait(self, condition, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the kernel did not get there in time")
            with contextlib.suppress(queue.Empty):
                self.messages.append(self.client.get_iopub_msg(timeout=0.1))

    def idle(self, msg_id: str) -> bool:
        return any(
            m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
            and m["parent_header"].get("msg_id") == msg_id
            for m in self.messages
        )

    def output(self, msg_id: str) -> str:
        mine = [m for m in self.messages if m["parent_header"].get("msg_id") == msg_id]
        return "".join(m["content"].get("text", "") for m in mine) + "".join(
            f"{m['content']['ename']}: {m['content']['evalue']}" for m in mine if m["msg_type"] == "error"
        )

    def widget(self, model: str, **state) -> str:
        for m in self.messages:
            data = m["content"].get("data", {}) if m["msg_type"] == "comm_open" else {}
            found = data.get("state", {})
            if found.get("_model_name") == model and all(found.get(k) == v for k, v in state.items()):
                return m["content"]["comm_id"]
        return ""

    def send(self, comm_id: str, data: dict) -> None:
        self.client.shell_channel.send(self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))

    def click(self, comm_id: str) -> None:
        self.send(comm_id, {"method": "custom", "content": {"event": "click"}})

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(moto_server):
    """One kernel for the tests marked with the xdist group "kernel", which run in order on one worker."""
    started = Kernel()
    yield started
    started.close()


def _ask(kernel: Kernel, environment: str = "dev", confirm_word: str = "", timeout: int = 60) -> str:
    return kernel.execute(
        "from aipx_runbook import approval\n"
        f"request = approval.ApprovalRequest('apply the saved plan', {environment!r}, 'Apply',"
        " {'add': 3, 'change': 1, 'destroy': 2, 'replace': 1, 'delete': 1}, type_to_confirm="
        + repr(confirm_word)
        + ")\n"
        f"print('approved by', approval.approve(request, False, 'pass auto_approve=True', timeout={timeout}))"
    )


@pytest.mark.xdist_group("kernel")
def test_the_cell_waits_for_the_click_and_later_cells_wait_with_it(kernel) -> None:
    asked = _ask(kernel)
    kernel.wait(lambda: kernel.widget("ButtonModel", description="Apply"))
    message = next(m for m in kernel.messages if "2 to destroy" in json.dumps(m["content"].get("data", {})))
    assert "(1 replaced, 1 deleted)" in json.dumps(message["content"])
    following = kernel.execute("print('the next cell ran')")
    time.sleep(1.5)
    kernel.wait(lambda: True)
    assert not kernel.idle(asked) and not kernel.idle(following), "nothing runs before the decision"
    kernel.click(kernel.widget("ButtonModel", description="Apply"))
    kernel.wait(lambda: kernel.idle(following))
    assert "approved by click" in kernel.output(asked)
    assert "the next cell ran" in kernel.output(following)
    first = next(i for i, m in enumerate(kernel.messages) if "approved by click" in m["content"].get("text", ""))
    second = next(i for i, m in enumerate(kernel.messages) if "the next cell ran" in m["content"].get("text", ""))
    assert first < second


@pytest.mark.xdist_group("kernel")
def test_cancel_refuses_and_production_needs_the_typed_name(kernel) -> None:
    kernel.messages.clear()
    asked = _ask(kernel)
    kernel.wait(lambda: kernel.widget("ButtonModel", description="Cancel"))
    kernel.click(kernel.widget("ButtonModel", description="Cancel"))
    kernel.wait(lambda: kernel.idle(asked))
    assert "ApprovalRequired" in kernel.output(asked) and "cancelled by the operator" in kernel.output(asked)

    kernel.messages.clear()
    asked = _ask(kernel, "production", "production")
    kernel.wait(lambda: kernel.widget("TextModel") and kernel.widget("ButtonModel", description="Apply"))
    apply_button = kernel.widget("ButtonModel", description="Apply", disabled=True)
    assert apply_button, "Apply starts disabled until the name is typed"
    kernel.click(apply_button)
    time.sleep(1.0)
    kernel.wait(lambda: True)
    assert not kernel.idle(asked), "a click before typing the name approves nothing"
    kernel.send(kernel.widget("TextModel"), {"method": "update", "state": {"value": "production"}, "buffer_paths": []})
    time.sleep(0.5)
    kernel.click(apply_button)
    kernel.wait(lambda: kernel.idle(asked))
    assert "approved by click" in kernel.output(asked)


@pytest.mark.xdist_group("kernel")
def test_no_decision_in_time_approves_nothing(kernel) -> None:
    kernel.messages.clear()
    asked = _ask(kernel, timeout=1)
    kernel.wait(lambda: kernel.idle(asked))
    assert "ApprovalRequired" in kernel.output(asked) and "no decision within 1 s" in kernel.output(asked)


@pytest.mark.xdist_group("kernel")
def test_kernel_interrupt_cancels_a_waiting_approval_and_the_kernel_goes_on(kernel) -> None:
    """What the waiting cell tells an operator whose page lost the buttons: Kernel → Interrupt cancels."""
    kernel.messages.clear()
    asked = _ask(kernel)
    kernel.wait(lambda: kernel.widget("ButtonModel", description="Apply"))
    assert "Kernel → Interrupt cancels this approval" in kernel.output(asked)
    kernel.manager.interrupt_kernel()
    kernel.wait(lambda: kernel.idle(asked))
    assert "interrupted (Kernel → Interrupt); nothing was changed" in kernel.output(asked)
    after = kernel.execute("print('still', 'answering')")
    kernel.wait(lambda: kernel.idle(after))
    assert "still answering" in kernel.output(after)


@pytest.mark.xdist_group("kernel")
def test_a_kernel_without_a_pumpable_stream_asks_for_the_typed_word(kernel) -> None:
    """Stands in for an older ipykernel (no per-shell stream): the prompt is the gate there."""
    kernel.messages.clear()
    kernel.execute("from aipx_runbook import approval\napproval.main_shell_stream = lambda kernel: None")
    asked = _ask(kernel)
    request = kernel.client.get_stdin_msg(timeout=30)
    assert request["msg_type"] == "input_request" and "Type 'apply'" in request["content"]["prompt"]
    kernel.client.input("apply")
    kernel.wait(lambda: kernel.idle(asked))
    assert "approved by typed answer" in kernel.output(asked)
    restored = kernel.execute("import importlib\nimportlib.reload(approval)")
    kernel.wait(lambda: kernel.idle(restored))


@pytest.mark.xdist_group("kernel")
def test_an_interactive_apply_runs_the_saved_plan_after_the_click(kernel, dev) -> None:
    stages.plan(dev.at("plan"))
    kernel.messages.clear()
    applied = kernel.execute(
        "from aipx_runbook import stages\n"
        f"ctx = stages.start('apply', 'dev', run_dir={str(dev.run_dir)!r})\n"
        "print(stages.apply(ctx).summary)"
    )
    kernel.wait(lambda: kernel.widget("ButtonModel", description="Apply"))
    assert dev.state() == {}, "nothing is applied before the click"
    kernel.click(kernel.widget("ButtonModel", description="Apply"))
    kernel.wait(lambda: kernel.idle(applied))
    assert "applied the saved plan" in kernel.output(applied) and "approved by click" in kernel.output(applied)
    assert dev.state()["outputs"]["environment"]["value"] == "dev"
    masked = kernel.execute("print(stages.outputs(ctx))")
    revealed = kernel.execute("print(stages.outputs(ctx, reveal_sensitive=True))")
    kernel.wait(lambda: kernel.idle(revealed))
    assert "aipx-dev-db.smoke.invalid" not in kernel.output(masked), "masked unless reveal_sensitive=True"
    assert "aipx-dev-db.smoke.invalid" in kernel.output(revealed), "a person at the keyboard may reveal it"
