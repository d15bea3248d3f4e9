"""A tiny ETL job that fails the way real ones do: a row lost a column.

Run it under flow-doctor to see capture, fingerprinting and dedup:

    flow-doctor run --flow nightly-orders -- python3 examples/failing_etl.py
"""
import csv
import io
import os
import uuid

ORDERS = """order_id,customer,amount
1001,alice,12.50
1002,bob
1003,carol,7.25
"""


def load_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def transform(row):
    # A missing "amount" makes csv give None; float(None) raises TypeError.
    return {"id": int(row["order_id"]), "cents": int(float(row["amount"]) * 100)}


def main():
    run_id = uuid.uuid4()
    # A secret that must never leave the machine unscrubbed.
    dsn = "postgresql://etl:" + "hunter2-s3cret" + "@warehouse.internal:5432/orders"
    print(f"run {run_id}: loading orders into {dsn.split('@')[1]}")
    rows = load_rows(ORDERS)
    print(f"read {len(rows)} rows; DATABASE_URL={dsn}", file=__import__("sys").stderr)
    out = [transform(r) for r in rows]
    print(f"transformed {len(out)} rows")


if __name__ == "__main__":
    main()
