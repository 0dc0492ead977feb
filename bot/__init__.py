"""Peerline: anonymous peer consultation and referral for people who use drugs."""
