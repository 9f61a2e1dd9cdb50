"""Opens a Hugging Face dataset folder written by chatan with the real `datasets`
package and compares it with the expected.json written beside it.

    python3 check_hf_folder.py FOLDER
"""

import json
import sys

import datasets


def feature_type(feature):
    if isinstance(feature, datasets.Value):
        return feature.dtype
    if isinstance(feature, dict):
        fields = ",".join(f"{name}:{feature_type(f)}" for name, f in feature.items())
        return f"struct<{fields}>"
    inner = getattr(feature, "feature", None)
    if inner is not None:
        return f"list<{feature_type(inner)}>"
    return repr(feature)


def main(folder):
    with open(f"{folder}/expected.json") as f:
        expected = json.load(f)
    loaded = datasets.load_dataset(folder)
    problems = []
    splits = {name: len(split) for name, split in loaded.items()}
    if splits != expected["splits"]:
        problems.append(f"splits: {splits} != {expected['splits']}")
    train = loaded["train"]
    if train.column_names != expected["columns"]:
        problems.append(f"columns: {train.column_names} != {expected['columns']}")
    features = {name: feature_type(f) for name, f in train.features.items()}
    if features != expected["features"]:
        problems.append(f"features: {features} != {expected['features']}")
    for i, want in enumerate(expected["first_rows"]):
        got = train[i]
        for key, value in want.items():
            have = got[key]
            if key in ("day", "moment"):
                have = str(have)
            if have != value:
                problems.append(f"row {i} {key}: {have!r} != {value!r}")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(
        f"datasets {datasets.__version__} opened {folder}: splits {splits}, "
        f"{len(features)} features as expected, first rows equal"
    )


if __name__ == "__main__":
    main(sys.argv[1])
