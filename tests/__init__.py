"""Cross-app tests."""

# The packages of product code (what the code rules and the task registry test read).
PRODUCT = [
    "aftersales",
    "orders",
    "returns",
    "repairs",
    "complaints",
    "pricing_guard",
    "invoices",
    "config",
    "demo",
]
