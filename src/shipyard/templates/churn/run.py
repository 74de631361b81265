"""The whole project, end to end: ``python run.py`` (safe to run again)."""

from __future__ import annotations

from pathlib import Path

import data
import deployment
import features
import lake
import train

from shipyard.features.loader import load_file
from shipyard.platform import Platform

HERE = Path(__file__).resolve().parent


def main() -> None:
    with Platform.open(HERE) as p:
        print("1/6 raw data")
        raw = data.make_raw(HERE)
        print("2/6 lake: bronze, silver, gold")
        lake.build(p, raw)
        print("3/6 features: apply the definitions")
        p.features.apply(load_file(Path(features.__file__)))
        print("4/6 train, track, register")
        version = train.train(p)
        print("5/6 online features, deployment")
        p.features.materialize()
        deployment.deploy(p)
        print("6/6 score one customer")
        answer = p.serving.predict(deployment.NAME, [{"customer_id": 1}])
        print(f"done: churn v{version} serves; customer 1 -> {answer.predictions[0]:.3f}")


if __name__ == "__main__":
    main()
