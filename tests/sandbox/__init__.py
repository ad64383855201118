"""Tests of notify's sandbox stage."""
