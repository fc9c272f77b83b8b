// The browser client end to end: headless Chromium (Debian's, driven by
// playwright-core) loads /litewire.js from litewire, keeps a live query in
// the page's DOM, and rows written with node-postgres show up there.
// Prints the list before and after as JSON. Env: LW_HTTP (host:port of the
// HTTP door), PGHOST, PGPORT, TABLE.
const { chromium } = require("playwright-core");
const { Client } = require("pg");

const LAUNCH_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

async function main() {
  const { LW_HTTP: http, TABLE: table } = process.env;
  const pg = new Client({ user: "postgres", database: "postgres" });
  await pg.connect();
  await pg.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, name text)`);
  await pg.query(`INSERT INTO ${table} (name) VALUES ('first')`);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: LAUNCH_ARGS });
  try {
    const page = await browser.newPage();
    await page.setContent(`<ul id="rows"></ul><p id="status"></p>
      <script type="module">
        import { Litewire } from "http://${http}/litewire.js";
        const db = new Litewire("ws://${http}/ws");
        db.live("SELECT id, name FROM ${table} ORDER BY id", []).subscribe((rows, byKey, status) => {
          document.querySelector("#rows").innerHTML = rows.map((r) => "<li>" + r.name + "</li>").join("");
          document.querySelector("#status").textContent = status;
        });
      </script>`);
    const items = () => page.$$eval("#rows li", (els) => els.map((e) => e.textContent));
    const until = (fn, arg) => page.waitForFunction(fn, arg, { timeout: 15000 });
    await until(() => document.querySelector("#status").textContent === "live");
    const before = await items();
    await pg.query(`INSERT INTO ${table} (name) VALUES ('from psql')`);
    await until(() => [...document.querySelectorAll("#rows li")].some((e) => e.textContent === "from psql"));
    await pg.query(`UPDATE ${table} SET name = 'renamed' WHERE name = 'first'`);
    await pg.query(`DELETE FROM ${table} WHERE name = 'from psql'`);
    await until(() => {
      const names = [...document.querySelectorAll("#rows li")].map((e) => e.textContent);
      return names.length === 1 && names[0] === "renamed";
    });
    console.log(JSON.stringify({ before, after: await items() }));
  } finally {
    await browser.close();
    await pg.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
