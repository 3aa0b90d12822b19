"""Applications inference: EfficientNetB0 and ConvNeXtTiny, jkeras vs Keras 3 (JAX backend).

`python scripts/bench_apps_new.py [--batch 8] [--size 224] [--repeats 5]`: the same
measurement as `bench_apps.py` (each model and library in its own process; build,
first `predict` with its compile, median of the next calls, images/s, ratios),
for two of the families tf.keras added after Keras 2.3.
"""
import bench_apps

if __name__ == "__main__":
    bench_apps.MODELS = ("EfficientNetB0", "ConvNeXtTiny")
    bench_apps.main()
