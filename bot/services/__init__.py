"""Domain logic: plain values in, plain values out; no Telegram imports here."""
