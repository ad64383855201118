"""Tests of notify's journal stage."""
