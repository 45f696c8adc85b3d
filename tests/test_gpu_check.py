"""The prepared GPU check (recipes/benchmarks/gpu.py) runs here on the CPU, tiny, so it cannot rot before a GPU is lent."""

import json
import subprocess
import sys

from conftest import ROOT


def test_the_gpu_check_runs_on_cpu_and_writes_its_table(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "recipes" / "benchmarks" / "gpu.py"), "--device", "cpu",
                             "--tiny", "--rounds", "1", "--output_dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = {row["check"]: row for row in json.loads((tmp_path / "gpu_check.json").read_text())["rows"]}
    assert any(check.startswith("main job in all (teacher: ") for check in rows)
    assert any(check.startswith("main job: student, distilled, onnx-int8") for check in rows)
    resumed = rows["no fine-tune resumed at step 5 against uninterrupted"]
    assert float(resumed["result"].rsplit(" ", 1)[1]) <= 1e-6  # the resumed run ends on the same weights
    assert rows["fp16 and its loss scaler"]["result"] == "not run: fp16 needs CUDA"
    assert rows["FSDP2, one process"]["result"] == "not run: accelerate's FSDP needs CUDA"
    for loop in ("project loop", "HF Trainer", "project predictor", "transformers.pipeline"):
        timed = [row for check, row in rows.items() if check.endswith(f": {loop}")]
        assert len(timed) == 2 and all(row["seconds"] > 0 and "MFU" in row["result"] for row in timed), loop
    assert "| check | result | seconds | peak MB |" in (tmp_path / "gpu_check.md").read_text()
