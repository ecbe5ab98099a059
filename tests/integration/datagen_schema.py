"""The schema of eddy-datagen's card transactions (tools/datagen/README.md),
as the lines of a source in a pipeline file: pipelines in the tests put it in
with `{tx_schema}`."""

TX_SCHEMA = """\
    schema:
      fields:
        - {name: tx_id, type: string, required: true}
        - {name: user_id, type: string, required: true}
        - {name: card_id, type: string, required: true}
        - {name: merchant_id, type: string, required: true}
        - {name: merchant_category, type: string, required: true}
        - {name: device_id, type: string}
        - {name: country, type: string, required: true}
        - {name: channel, type: string, required: true, allowed: [web, app, pos]}
        - {name: amount, type: double, required: true, min: 0, max: 1000000}
        - {name: currency, type: string, required: true}
        - {name: ts, type: timestamp}
    event_time: ts
    key: user_id
    id: tx_id
""".rstrip("\n")
