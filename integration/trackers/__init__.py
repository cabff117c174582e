"""Tracker clients behind one small protocol (see base.py)."""
