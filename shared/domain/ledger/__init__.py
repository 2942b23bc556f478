"""The public, tamper-evident log of an auction's bids (Certificate Transparency's design).

- `entries`: what each placed bid becomes (canonical JSON, pseudonym, max commitment);
- `merkle`: the RFC 9162 tree over them: hashes, proofs from stored nodes, the compact range;
- `notes`: signed checkpoints (C2SP signed notes) and bid receipts.

Pure: the signing key and every store are the adapters'. `verify_auction/` at the repository
root checks all of it from the outside, with no code of ours.
"""
