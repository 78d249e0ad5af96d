"""Issue 12, item 2: no exception text reaches the screen; flags are not advised there."""

from __future__ import annotations

from core.errors import SegscopeError, UsageError
from storage.readers import ImportFileError
from tui.failures import failure_notice, is_exception_text, without_flags


def test_a_value_error_in_forward_columns_becomes_a_sentence_for_targeting():
    error = ValueError("window shape cannot be larger than input array shape")
    notice = failure_notice("forward_columns", "forward", error)
    assert not is_exception_text(notice.title + " " + notice.message)
    assert "window shape" not in notice.message
    assert "Targeting" in notice.message
    assert "potential and CLV" in notice.message
    assert notice.message.endswith("The details are in the log.")


def test_the_model_screen_compute_names_the_model_screen():
    notice = failure_notice("_compute", "segment", ValueError("x"))
    assert "Model screen" in notice.message and "ValueError" not in notice.message
    notice = failure_notice("recompute_segments", "segments", KeyError("levels"))
    assert "KeyError" not in notice.message and "levels" not in notice.message


def test_a_segscope_error_passes_as_it_is():
    notice = failure_notice("prepare", "import-prepare",
                            ImportFileError("a.csv: the file has no data rows"))
    assert notice.message == "a.csv: the file has no data rows"


def test_command_line_advice_is_removed_and_workbench_advice_given():
    message = ("w.csv: no column for the account (customer) id (account_id) in this accounts "
               "file; its columns are 'Channel', 'Region'. Name the column with --map "
               "'COLUMN=account_id', or number the rows with --map '#row=account_id'")
    notice = failure_notice("prepare", "import-prepare", ImportFileError(message))
    assert "--map" not in notice.message
    assert notice.message.startswith("w.csv: no column for the account")
    assert "mapping" in notice.message.lower()


def test_without_flags_keeps_messages_without_flags():
    assert without_flags("industry: no such column") == "industry: no such column"
    sheet = "x.xlsx: empty sheet; read another sheet with --sheet NAME"
    assert "--sheet" not in without_flags(sheet)
    assert without_flags(sheet).startswith("x.xlsx: empty sheet")


def test_unknown_workers_and_os_errors_are_plain_words():
    notice = failure_notice("mystery", None, PermissionError(13, "denied", "/root/x"))
    assert "permission denied" in notice.message and "/root" not in notice.message
    assert not is_exception_text(notice.message)


async def test_the_app_notification_of_a_failed_worker_has_no_exception_text(make_app, settle):
    from textual import work

    app = make_app()

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)

        @work(thread=True, exit_on_error=False, group="forward", name="forward_columns")
        def boom(self) -> None:
            raise ValueError("window shape cannot be larger than input array shape")

        boom(app.screen)
        await settle(app, pilot)
        errors = [m for s, m in app.notices if s == "error"]
        assert errors, app.notices
        assert not any(is_exception_text(m) or "window shape" in m for m in errors)


def test_segscope_errors_are_never_called_exception_text():
    assert not is_exception_text(str(UsageError("industry == 'x': no rows")))
    assert is_exception_text("ValueError: boom")
    assert isinstance(ImportFileError("x"), SegscopeError)
