"""Tests of notify's delivery stage."""
