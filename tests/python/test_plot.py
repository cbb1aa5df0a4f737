"""The plots: produced from a training log, from a model and from `gbnet
eval --write-predictions`, with labelled axes and units, one colour per
element, and the MAE/RMSE in the legends equal to gbnet eval's."""
import os
import re
import subprocess
import sys
import unittest

import numpy as np

import gbnet
from gbnet import plot
from common import (ETHANOL, ETHANOL_TEST, TANTALUM, TANTALUM_POT, TempDirTest, gbnet as run_gbnet,
                    slice_frames)


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def eval_table(stdout):
    """{quantity: (MAE, RMSE)} of gbnet eval's table."""
    rows = {}
    for line in stdout.splitlines():
        w = line.split()
        if len(w) == 5 and w[1] in ("meV/atom", "meV/A", "GPa") and w[3] != "-":
            rows[w[0]] = (float(w[3]), float(w[4]))
    return rows


def first_number(text, after):
    return float(re.search(after + r" ([-0-9.e+]+)", text).group(1))


class Plots(TempDirTest):
    def test_learning_curves_with_stress(self):
        frames = [a for a in gbnet.read_data(TANTALUM) if not a.info.get("config_type", "").startswith("Volume")]
        gbnet.write_data(self.path("ta.extxyz"), frames[::6])
        gbnet.train(train_data=self.path("ta.extxyz"), features=8, blocks=1, rbf=8, readout=4, cutoff=4.0,
                    w_stress=1.0, epochs=3, batch_size=8, threads=1, output=self.path("ta.gbnet"),
                    log=self.path("ta.csv"), checkpoint=self.path("ta.ckpt"), progress=None)
        fig = plot.learning_curves_figure(self.path("ta.csv"))
        axes = fig.get_axes()
        self.assertEqual([ax.get_ylabel() for ax in axes],
                         ["energy RMSE (meV/atom)", "force RMSE (meV/Å)", "stress RMSE (GPa)", "learning rate"])
        self.assertEqual({ax.get_xlabel() for ax in axes}, {"epoch"})
        texts = legend_texts(axes[1])
        self.assertTrue(texts[0].startswith("train") and texts[1].startswith("validation"), texts)
        # the curve is the log's column
        log = plot.read_log(self.path("ta.csv"))
        valid_line = axes[1].get_lines()[1]
        np.testing.assert_array_equal(valid_line.get_ydata(), log["valid_force_rmse_meV_A"])
        path = plot.learning_curves(self.path("ta.csv"))
        self.assertEqual(path, self.path("ta.png"))
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_parity_from_a_model_matches_gbnet_eval(self):
        model = self.path("eth.gbnet")
        run_gbnet("init", "--elements", "C,H,O", "--features", "16", "--blocks", "2", "--rbf", "12",
                  "--cutoff", "4", "--seed", "2", "--reference", ETHANOL, "-o", model)
        data = slice_frames(ETHANOL_TEST, self.path("eth.extxyz"), 0, 30)
        table = eval_table(run_gbnet("eval", model, data).stdout)
        reference = gbnet.read_data(data)
        predicted = gbnet.Potential(model).evaluate(reference)
        fig = plot.parity_figure(predicted, reference)
        energy_ax, force_ax = fig.get_axes()
        self.assertEqual(energy_ax.get_xlabel(), "reference energy (eV/atom)")
        self.assertEqual(energy_ax.get_ylabel(), "gbnet energy (eV/atom)")
        self.assertEqual(force_ax.get_xlabel(), "reference force component (eV/Å)")
        self.assertEqual(force_ax.get_ylabel(), "gbnet force component (eV/Å)")
        # one colour per element, each with its MAE and RMSE equal to gbnet eval's force[X] rows
        lines = [l for l in force_ax.get_lines() if l.get_label().split(":")[0] in ("H", "C", "O")]
        self.assertEqual(sorted(l.get_label().split(":")[0] for l in lines), ["C", "H", "O"])
        self.assertEqual(len({l.get_color() for l in lines}), 3)
        for line in lines:
            element = line.get_label().split(":")[0]
            mae, rmse = table[f"force[{element}]"]
            self.assertAlmostEqual(first_number(line.get_label(), "MAE"), mae, delta=0.0051 * mae)
            self.assertAlmostEqual(first_number(line.get_label(), "RMSE"), rmse, delta=0.0051 * rmse)
        energy_legend = legend_texts(energy_ax)[0]
        self.assertAlmostEqual(first_number(energy_legend, "MAE"), table["energy"][0], delta=0.0051 * table["energy"][0])
        path = plot.parity_from_model(model, data, self.path("eth_parity.png"))
        self.assertTrue(os.path.getsize(path) > 10000)

    def test_parity_of_predictions_on_the_command_line(self):
        frames = gbnet.read_data(TANTALUM)[::9]
        data = self.path("ta.extxyz")
        gbnet.write_data(data, frames)
        pred = self.path("pred.extxyz")
        table = eval_table(run_gbnet("eval", TANTALUM_POT, data, "--write-predictions", pred).stdout)
        r = run_gbnet("plot", "parity", "--predictions", pred, data, "-o", self.path("ta_parity.png"))
        self.assertIn("ta_parity.png", r.stdout)
        self.assertTrue(os.path.getsize(self.path("ta_parity.png")) > 10000)
        fig = plot.parity_figure(gbnet.read_data(pred), gbnet.read_data(data))
        energy_ax, force_ax, stress_ax = fig.get_axes()
        self.assertEqual(stress_ax.get_xlabel(), "reference stress (GPa)")
        self.assertAlmostEqual(first_number(legend_texts(energy_ax)[0], "MAE"), table["energy"][0],
                               delta=0.0051 * table["energy"][0])
        # the learning curves from the command line too, through python3 -m gbnet.plot
        r = subprocess.run([sys.executable, "-m", "gbnet.plot", self.path("missing.csv")], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("training log not found", r.stderr)
        self.assertFalse(os.path.exists(self.path("missing.png")))


if __name__ == "__main__":
    unittest.main()
