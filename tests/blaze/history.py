"""The demo history (tools/conductor_dev/seed.py) as the Blaze partner API would return it, and the
same history as the CSV export it matches, so a replay through public.blaze_sync_page can be
compared with a CSV load table by table.

Blaze carries less than the demo export: no Leafly fields, costs or member time zones, one shop
per API key (every transaction is recorded under the blaze_shop_name setting), and staff arrive as
the transaction's seller. `csv_rows` is the export cut down to what Blaze carries; `pages` is the
same rows as Blaze JSON, 100 records per page, using the field names of the partner API
(docs/n8n.md, "Live sync from Blaze")."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from conductor_dev import seed

SHOP_ID = "5e8b1f2a9c3d4e0012ab34cd"
COMPANY_ID = "5e8b1f2a9c3d4e0012ab0001"
SHOP_NAME = "Harbor Dispensary"
PAGE_SIZE = 100
TZ = ZoneInfo(seed.STORE_TIME_ZONE)


def generate(scale: float, seed_value: int = 7) -> seed.Dataset:
    """The demo history without the bad rows put in on purpose (each path reports those its own way)."""
    original = seed.add_bad_rows
    seed.add_bad_rows = lambda *args, **kwargs: None
    try:
        return seed.generate(scale=scale, seed=seed_value)
    finally:
        seed.add_bad_rows = original


def epoch_ms(local: str) -> int:
    """A local time at the store (as the export prints it) in epoch milliseconds."""
    fmt = "%Y-%m-%d %H:%M:%S" if " " in local else "%Y-%m-%d"
    return int(datetime.strptime(local, fmt).replace(tzinfo=TZ).timestamp() * 1000)


def number(text: str | None):
    if text is None or text == "":
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def csv_rows(dataset: seed.Dataset) -> dict[str, list[tuple]]:
    """The export rows, cut down to what Blaze carries (no staff file)."""
    cols = seed.STAGING_COLUMNS
    keep_products = {
        "product_id",
        "sku",
        "name",
        "brand",
        "category",
        "strain",
        "flower_type",
        "vendor",
        "thc_content",
        "cbd_content",
        "retail_price",
        "is_active",
    }
    out = {}
    out["products"] = [
        tuple(v if c in keep_products else None for c, v in zip(cols["products"], row, strict=True))
        for row in dataset.rows["products"]
    ]
    out["customers"] = [
        tuple(None if c == "time_zone" else v for c, v in zip(cols["customers"], row, strict=True))
        for row in dataset.rows["customers"]
    ]
    out["transactions"] = [
        tuple(
            SHOP_NAME if c == "shop_location" else v for c, v in zip(cols["transactions"], row, strict=True)
        )
        for row in dataset.rows["transactions"]
    ]
    keep_items = {
        "transaction_id",
        "line_number",
        "product_sku",
        "quantity",
        "unit_price",
        "discount",
        "total_price",
    }
    out["transaction_items"] = [
        tuple(v if c in keep_items else None for c, v in zip(cols["transaction_items"], row, strict=True))
        for row in dataset.rows["transaction_items"]
    ]
    return out


def _named(entity: str, row: tuple) -> dict:
    return dict(zip(seed.STAGING_COLUMNS[entity], row, strict=True))


def members(rows: dict) -> list[dict]:
    result = []
    for row in rows["customers"]:
        r = _named("customers", row)
        first, _, last = (r["name"] or "").partition(" ")
        started = epoch_ms(r["registered_on"])
        result.append(
            {
                "id": r["member_id"],
                "companyId": COMPANY_ID,
                "shopId": SHOP_ID,
                "created": started,
                "modified": started,
                "deleted": False,
                "firstName": first,
                "lastName": last,
                "primaryPhone": r["phone"],
                "email": r["email"],
                "loyaltyPoints": number(r["loyalty_points"]),
                "consumerType": r["customer_type"],
                "memberGroup": {"name": r["member_group"]},
                "marketingSource": r["marketing_source"],
                "address": {
                    "address": r["street_address"],
                    "city": r["city"],
                    "state": r["state"],
                    "zipCode": r["zip_code"],
                },
                "startDate": started,
            }
        )
    return result


def products(rows: dict) -> list[dict]:
    result = []
    for n, row in enumerate(rows["products"]):
        r = _named("products", row)
        result.append(
            {
                "id": r["product_id"],
                "companyId": COMPANY_ID,
                "shopId": SHOP_ID,
                "modified": 1_700_000_000_000 + n,
                "deleted": False,
                "sku": r["sku"],
                "name": r["name"],
                "brand": {"name": r["brand"]},
                "category": {"name": r["category"]},
                "strain": r["strain"],
                "flowerType": r["flower_type"],
                "vendor": {"name": r["vendor"]},
                "thc": number(r["thc_content"]),
                "cbd": number(r["cbd_content"]),
                "unitPrice": number(r["retail_price"]),
                "active": r["is_active"] == "true",
            }
        )
    return result


def positive(text: str | None):
    value = number(text)
    return abs(value) if value is not None else None


def transactions(rows: dict) -> list[dict]:
    product_of = {_named("products", p)["sku"]: _named("products", p)["product_id"] for p in rows["products"]}
    lines: dict[str, list[dict]] = {}
    for row in rows["transaction_items"]:
        r = _named("transaction_items", row)
        lines.setdefault(r["transaction_id"], []).append(
            {
                "id": f"{r['transaction_id']}-{r['line_number']}",
                "productId": product_of[r["product_sku"]],
                "quantity": number(r["quantity"]),
                "unitPrice": number(r["unit_price"]),
                "discount": number(r["discount"]),
                "finalPrice": positive(r["total_price"]),
            }
        )
    result = []
    for row in rows["transactions"]:
        r = _named("transactions", row)
        when = epoch_ms(r["date"])
        first, _, last = (r["staff_name"] or "").partition(" ")
        result.append(
            {
                "id": r["transaction_id"],
                "companyId": COMPANY_ID,
                "shopId": SHOP_ID,
                "transNo": r["transaction_id"][2:],
                "created": when,
                "modified": when,
                "processedTime": when,
                "deleted": False,
                "memberId": r["customer_id"],
                "status": "Completed" if r["status"] == "completed" else "Canceled",
                "transType": "Refund" if r["transaction_type"] == "refund" else "Sale",
                "parentTransactionId": r["refunded_transaction_id"],
                "seller": {"firstName": first, "lastName": last},
                "terminalName": r["terminal"],
                "cart": {
                    "paymentOption": r["payment_type"],
                    "total": positive(r["total_amount"]),
                    "totalCalcTax": positive(r["total_tax"]),
                    "totalDiscount": positive(r["discounts"]),
                    "pointsEarned": number(r["loyalty_points_earned"]),
                    "pointSpent": number(r["loyalty_points_spent"]),
                    "items": lines.get(r["transaction_id"], []),
                },
            }
        )
    return result


def pages(rows: dict) -> list[tuple[str, dict]]:
    """(entity, page) in Blaze's order: each entity's records by time, 100 to a page."""
    out = []
    for entity, records in (
        ("members", members(rows)),
        ("products", products(rows)),
        ("transactions", transactions(rows)),
    ):
        for start in range(0, len(records), PAGE_SIZE):
            chunk = records[start : start + PAGE_SIZE]
            out.append((entity, {"count": len(chunk), "total": len(records), "values": chunk}))
    return out


def shuffled_with_repeats(page_list: list, rng: random.Random, repeats: int = 3) -> list:
    """The pages in a random order, a few of them delivered twice."""
    delivered = page_list + rng.sample(page_list, min(repeats, len(page_list)))
    rng.shuffle(delivered)
    return delivered
