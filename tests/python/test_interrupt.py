"""Ctrl-C during gbnet.train(...) writes a checkpoint and raises
TrainingInterrupted; resuming from it gives bitwise the model of an
uninterrupted run."""
import os
import signal
import subprocess
import sys
import textwrap
import unittest

from common import ETHANOL, ETHANOL_TEST, TempDirTest, slice_frames
from test_train import SMALL_CONFIG, without_provenance

CHILD = textwrap.dedent("""
    import sys, gbnet
    def step(epoch, step, loss):
        if epoch == 1 and step == 2:
            print("STEP", flush=True)  # the parent sends SIGINT now
    try:
        gbnet.train(sys.argv[1], epochs=30, on_step=step, progress=None, checkpoint=sys.argv[2],
                    output=sys.argv[3])
    except gbnet.TrainingInterrupted as e:
        print("INTERRUPTED", e.checkpoint, flush=True)
        print("MESSAGE", e, flush=True)
        sys.exit(3)
    print("FINISHED", flush=True)
""")


class CtrlC(TempDirTest):
    def test_sigint_leaves_a_checkpoint_that_resumes_exactly(self):
        slice_frames(ETHANOL, self.path("train.extxyz"), 0, 48)
        slice_frames(ETHANOL_TEST, self.path("valid.extxyz"), 0, 16)
        cfg = self.path("small.cfg")
        with open(cfg, "w") as f:
            f.write(SMALL_CONFIG)
        ckpt, out = self.path("run.ckpt"), self.path("interrupted.gbnet")
        child = subprocess.Popen([sys.executable, "-c", CHILD, cfg, ckpt, out], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=os.environ)
        line = child.stdout.readline()
        self.assertEqual(line.strip(), "STEP", child.stderr.read() if not line else line)
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=300)
        self.assertEqual(child.returncode, 3, stdout + stderr)
        self.assertIn(f"INTERRUPTED {ckpt}", stdout)
        self.assertIn("checkpoint written to", stdout)
        self.assertTrue(os.path.getsize(ckpt) > 0)

        import gbnet
        resumed = gbnet.train(cfg, epochs=30, resume=ckpt, checkpoint=ckpt, output=out, progress=None)
        self.assertEqual(resumed.training["epoch"], 30)
        straight = gbnet.train(cfg, epochs=30, checkpoint=self.path("straight.ckpt"),
                               output=self.path("straight.gbnet"), log=self.path("straight.csv"), progress=None)
        self.assertEqual(without_provenance(out, self.path("a.gbnet")),
                         without_provenance(straight.path, self.path("b.gbnet")))


if __name__ == "__main__":
    unittest.main()
