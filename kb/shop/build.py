#!/usr/bin/env python3
"""Builds the demo shop knowledge base from the Bitext customer-service dataset.

    python3 kb/shop/build.py

A stratified 80/20 split per intent with a fixed seed: the 80 % become the examples of
kb/shop/*.toml (one file per category, with our own answers), the 20 % are written to
bench/data/kb_heldout.csv for the benchmark and are never seen by the matcher or its
calibration. Deterministic: running it again gives the same files.

Each entry also gets the examples of kb/shop/phone_examples.csv: short, informal questions as
callers say them on the phone (no punctuation, fillers, indirect wording), written by us as a
knowledge-base administrator would, because the Bitext utterances are all written text.
"""

import csv
import random
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATASET = REPO.parent / "shared/testdata/intents/bitext_customer_service.csv"
PHONE_EXAMPLES = REPO / "kb/shop/phone_examples.csv"
SEED = 20261122
TRAIN_SHARE = 0.8

# intent -> (priority, answer, action). Answers are spoken on the phone: short sentences, no
# symbols or lists; ${order_id} and friends are filled in by the dialplan.
ANSWERS = {
    "cancel_order": ("complaint", "I can cancel an order that has not shipped yet. Once I have your order number, I will check whether it can still be stopped.", 'intent = "cancel_order"'),
    "change_order": ("general", "You can change an order until it ships. Tell me your order number and what you would like to add, remove or swap.", 'intent = "change_order"'),
    "place_order": ("general", "You can order on our website or in the app: add the items to your basket and go to checkout. I can also take the order with you now.", None),
    "track_order": ("general", "Let me look that up. Order ${order_id} is ${order_status}.", 'intent = "order_status"'),
    "create_account": ("general", "Creating an account takes a minute: on our website choose sign up, enter your email address and pick a password. We then send you a link to confirm.", None),
    "delete_account": ("complaint", "I am sorry to see you go. You can close your account under settings, privacy, delete account. Your data is removed within thirty days.", None),
    "edit_account": ("general", "You can change your name, email address and phone number under my account, then personal details. Save when you are done.", None),
    "recover_password": ("general", "No problem. Choose forgot password on the sign in page and we will email you a link to set a new one. The link works for one hour.", None),
    "registration_problems": ("general", "Sorry the sign up is giving you trouble. Please check that the email address is not already registered and that the password has at least eight characters. If it still fails, I can put you through to a colleague.", None),
    "switch_account": ("general", "To switch accounts, sign out under my account and sign in again with the other email address.", None),
    "check_cancellation_fee": ("billing", "Cancelling an order before it ships is free. After it has shipped, you can return it within thirty days and only the return postage applies.", None),
    "contact_customer_service": ("general", "Our customer service team is here every day from eight in the morning to eight in the evening, on this number and by chat on our website.", None),
    "contact_human_agent": ("general", "Of course. I will put you through to one of my colleagues now. Please stay on the line.", "escalate = true"),
    "delivery_options": ("general", "We offer standard delivery in three to five working days, express delivery the next working day, and free pick up from a parcel point.", None),
    "delivery_period": ("general", "Standard delivery takes three to five working days, express delivery arrives the next working day if you order before two in the afternoon.", None),
    "complaint": ("complaint", "I am sorry to hear that. I will note your complaint and make sure the right person looks at it. Let me put you through to a colleague who can help.", "escalate = true"),
    "review": ("general", "Thank you, we love to hear from you. You can leave a review on the product page, or tell me now and I will pass it on.", None),
    "check_invoice": ("billing", "You find all your invoices under my account, then orders. Each order has its invoice as a PDF you can view or download.", None),
    "get_invoice": ("billing", "I can send you the invoice for order ${order_id} by email. It usually arrives within a few minutes.", 'intent = "send_invoice"'),
    "newsletter_subscription": ("general", "You can subscribe or unsubscribe from our newsletter under my account, then preferences, or with the link at the bottom of any newsletter.", None),
    "check_payment_methods": ("billing", "We accept credit and debit cards, PayPal, bank transfer, and paying by invoice within fourteen days.", None),
    "payment_issue": ("billing", "I am sorry your payment did not go through. Please check the card details and your card limit. If you were charged twice, the extra amount is returned within five working days.", None),
    "check_refund_policy": ("billing", "You can return any item within thirty days. We refund the full price to your original payment method within five working days after the return arrives.", None),
    "get_refund": ("billing", "I can start a refund for you. Once I have your order number, the money goes back to your original payment method within five working days.", 'intent = "refund"'),
    "track_refund": ("billing", "Refunds reach your account within five working days after we receive the return. The refund for order ${order_id} is ${refund_status}.", 'intent = "refund_status"'),
    "change_shipping_address": ("general", "You can change the delivery address of an order until it ships. Tell me your order number and the new address.", None),
    "set_up_shipping_address": ("general", "You can add a delivery address under my account, then addresses, add new address. You can also set it as your default.", None),
}


def toml_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    with DATASET.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    by_intent = defaultdict(list)
    for r in rows:
        by_intent[r["intent"]].append(r)
    assert set(by_intent) == set(ANSWERS), set(by_intent) ^ set(ANSWERS)
    rng = random.Random(SEED)
    train, heldout = defaultdict(list), []
    for intent in sorted(by_intent):
        items = by_intent[intent][:]
        rng.shuffle(items)
        cut = round(len(items) * TRAIN_SHARE)
        train[items[0]["category"]].extend(items[:cut])
        heldout.extend(items[cut:])
    phone = defaultdict(list)
    with PHONE_EXAMPLES.open(newline="") as f:
        for r in csv.DictReader(f):
            phone[r["intent"]].append(r["text"])
    assert set(phone) <= set(ANSWERS), set(phone) - set(ANSWERS)
    out = REPO / "kb/shop"
    for old in out.glob("*.toml"):
        if old.name != "matcher.toml":
            old.unlink()
    for category, items in sorted(train.items()):
        lines = [f"# {category.replace('_', ' ').title()}: generated by kb/shop/build.py from the Bitext",
                 "# customer-service dataset (CDLA-Sharing-1.0, see README.md); answers are ours.", ""]
        per_intent = defaultdict(list)
        for r in items:
            per_intent[r["intent"]].append(r["utterance"])
        for intent in sorted(per_intent):
            priority, answer, action = ANSWERS[intent]
            lines += ["[[entry]]", f"id = {toml_string(intent)}", f"category = {toml_string(category)}",
                      f"priority = {toml_string(priority)}", f"answer = {toml_string(answer)}"]
            if action:
                lines.append(f"action = {{ {action} }}")
            lines.append("examples = [")
            lines += [f"  {toml_string(u)}," for u in per_intent[intent] + phone[intent]]
            lines += ["]", ""]
        (out / f"{category.lower()}.toml").write_text("\n".join(lines))
    with (REPO / "bench/data/kb_heldout.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "intent", "category"])
        for r in heldout:
            w.writerow([r["utterance"], r["intent"], r["category"]])
    print(f"{sum(len(v) for v in train.values())} Bitext and {sum(len(v) for v in phone.values())} phone "
          f"examples in kb/shop, {len(heldout)} held out")


if __name__ == "__main__":
    main()
