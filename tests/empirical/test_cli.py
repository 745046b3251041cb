"""``selfdpo empirical``: bad input ends with one line on stderr and exit 2; a real run on the
tiny student through the CLI writes a log and resumes."""

from __future__ import annotations

import json

from empirical.commands import main


def _bad(capsys, argv, msg):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and msg in err, err
    assert "Traceback" not in err


def test_bad_inputs(capsys, tmp_path, tiny_path):
    base = ["empirical", "run", "--task", "synthetic", "--rounds", "1", "--out", str(tmp_path)]
    _bad(
        capsys,
        [*base, "--student", str(tmp_path / "none"), "--verifier", "oracle"],
        "--student not found",
    )
    ok = ["--student", str(tiny_path)]
    _bad(capsys, [*base, *ok, "--verifier", "synthetic:1.5:1"], "alpha must be in [0, 1]")
    _bad(capsys, [*base, *ok, "--verifier", "synthetic:0.5"], "synthetic:ALPHA:KAPPA")
    _bad(capsys, [*base, *ok, "--verifier", "judge:" + str(tmp_path / "j")], "judge checkpoint")
    _bad(capsys, [*base, *ok, "--verifier", "oracle", "--gate", "best"], "--gate must be")
    _bad(capsys, [*base, *ok, "--verifier", "oracle", "--n", "1"], "--n must be")
    bad_task = [
        "empirical",
        "run",
        "--task",
        "mmmu",
        "--rounds",
        "1",
        "--out",
        str(tmp_path),
        *ok,
        "--verifier",
        "oracle",
    ]
    _bad(capsys, [*bad_task, "--data", str(tmp_path / "nodata")], "--data not found")
    _bad(capsys, bad_task, "--data is required")
    _bad(
        capsys,
        [
            "empirical",
            "run",
            "--task",
            "coco",
            *ok,
            "--verifier",
            "oracle",
            "--rounds",
            "1",
            "--out",
            str(tmp_path),
        ],
        "--task must be one of",
    )
    _bad(capsys, ["empirical", "tiny", "--rounds", "0"], "--rounds must be")
    _bad(capsys, ["empirical", "tiny", "--workers", "0"], "--workers must be")
    run = [*base, *ok, "--verifier", "oracle"]
    for flag in ("--beta", "--lr", "--temperature"):
        _bad(capsys, [*run, flag, "inf"], f"{flag} must be finite")
    _bad(capsys, [*run, "--lr", "nan"], "--lr must be finite")
    f = tmp_path / "file.txt"
    f.write_text("x")
    out_file = ["empirical", "run", "--task", "synthetic", "--rounds", "1", "--out", str(f)]
    _bad(capsys, [*out_file, *ok, "--verifier", "oracle"], "is a file")
    _bad(capsys, [*run, "--device", "cuda:7"], "--device cuda:7")
    _bad(capsys, [*run, "--device", "tpu"], "--device")
    _bad(capsys, [*run, "--dtype", "fp8"], "--dtype must be")
    _bad(capsys, [*run, "--seeds", "1,1"], "--seeds must be")
    _bad(capsys, [*run, "--n", "1000000000"], "--n must be an integer in [2, 1024]")
    _bad(capsys, [*run[:-2], "--verifier", "nosuchmodule_xyz:score"], "cannot import")


def test_run_on_tiny_student_and_resume(capsys, tmp_path, tiny_path):
    def argv(rounds):
        return [
            "empirical",
            "run",
            "--student",
            str(tiny_path),
            "--task",
            "synthetic",
            "--verifier",
            "synthetic:0.8:1",
            "--rounds",
            str(rounds),
            "--out",
            str(tmp_path / "r"),
            "--n",
            "2",
            "--batch",
            "4",
            "--limit",
            "8",
            "--max-new-tokens",
            "2",
            "--device",
            "cpu",
            "--quiet",
            "--gate",
            "margin",
        ]

    assert main(argv(2)) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["runs"][0]["rounds"] == 2
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["measured"]["pairs"] == first["runs"][0]["measured"]["pairs"]
    samples = (tmp_path / "r" / "samples" / "round-0001.jsonl").read_text().splitlines()
    assert len(samples) == 4 * 2  # 4 train questions (8 - 4 held out) x n = 2
    log = [json.loads(x) for x in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert [r["round"] for r in log] == [0, 1, 2]
    assert main(argv(3)) == 2  # another --rounds is another configuration
    assert "another configuration" in capsys.readouterr().err


def test_empirical_help_has_no_torch_import():
    import subprocess
    import sys

    code = (
        "import sys, argparse; from empirical.commands import register; "
        "register(argparse.ArgumentParser().add_subparsers()); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_run_over_seeds_pools_the_reports(capsys, tmp_path, tiny_path):
    argv = ["empirical", "run", "--student", str(tiny_path), "--task", "synthetic"]
    argv += ["--verifier", "synthetic:0.8:2", "--rounds", "1", "--out", str(tmp_path / "r")]
    argv += ["--n", "2", "--batch", "4", "--limit", "8", "--max-new-tokens", "2"]
    argv += ["--device", "cpu", "--quiet", "--seeds", "3,4"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seeds"] == 2 and len(out["pooled"]["heldout_change"]["values"]) == 2
    for s in (3, 4):
        rep = json.loads((tmp_path / "r" / f"seed-{s}" / "report.json").read_text())
        assert rep["rounds"] == 1
    pooled = json.loads((tmp_path / "r" / "report.json").read_text())
    assert pooled["pooled"] == out["pooled"]
