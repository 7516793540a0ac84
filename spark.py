"""`policyconf.spark`: claims decided on a Spark cluster (the implementation: `engine/spark.py`).

    from policyconf import spark as policyconf_spark
    decisions = policyconf_spark.evaluate(claims_df, "products/")
    impact = policyconf_spark.impact(claims_df, "products@main", "products/")

Needs pyspark and pyarrow: `pip install 'policyconf[spark]'`.
"""
from __future__ import annotations

from .engine.spark import DECISION_FIELDS, DECISION_SCHEMA, evaluate, impact, output_schema, product_texts

__all__ = ["evaluate", "impact", "DECISION_SCHEMA", "DECISION_FIELDS", "output_schema", "product_texts"]
