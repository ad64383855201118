"""Tests of notify's render stage."""
