"""The online-procedure KPI (オンライン手続数), usage figures and the open-data export."""
