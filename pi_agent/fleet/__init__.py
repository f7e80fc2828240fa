"""SettleGuard in a chain of shops: the guard's state, events and Home Assistant discovery
on an MQTT broker, commands from it, and a console that watches every guard."""
