"""Packaging for SettleGuard (setuptools); `pip install .` gives the `settle-guard` command."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="settle-guard",
    version="0.1.0",
    description="A countertop guard that makes sure the card terminal's batch gets settled",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(include=["pi_agent", "pi_agent.*"]),
    # pinmap.toml is a link to hardware/pinmap.toml: one source, shipped with the package.
    package_data={
        "pi_agent": ["pinmap.toml"],
        "pi_agent.web": ["templates/*.html", "static/*.css", "static/*.js", "static/*.svg"],
    },
    install_requires=[
        "pyserial>=3.5",
        "tzdata",  # zoneinfo data even where the OS lacks it
        "APScheduler>=3.10,<4",
        "gpiozero>=2.0",
        "luma.oled>=3.12",
        "apprise>=1.6",  # imported only when a message is sent
        # Config validation reads a code list generated from this release
        # (python -m pi_agent.notify.holiday_data --write-codes); a new one needs a new list.
        "holidays==0.109",
        "Flask>=2.3",  # the technician's page: imported only when [web] enabled
        "waitress>=2.1",
        "requests>=2.28",  # what Apprise sends with (POSLink over HTTP uses http.client)
        "paho-mqtt>=2.0,<3",  # the fleet's broker client: imported only when [fleet] enabled
    ],
    extras_require={
        "test": [
            "pytest>=7.4",
            "hypothesis>=6.80",
            "ruff>=0.4",
            # drives Debian's chromium (apt) in the page's browser test; never downloads one
            "playwright>=1.40",
        ],
    },
    entry_points={"console_scripts": ["settle-guard = pi_agent.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Operating System :: POSIX :: Linux",
        "Topic :: Office/Business :: Financial :: Point-Of-Sale",
    ],
)
