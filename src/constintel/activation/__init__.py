"""Activation: product intent, automations and campaigns (email, WhatsApp, webhooks),
customer journeys, store visits and in-store alerts."""
