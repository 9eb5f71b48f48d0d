import { defineConfig } from 'drizzle-kit'

// `npm run db:generate` writes a new migration into drizzle/ from the table files.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/platform/db/tables.ts', './src/modules/*/tables.ts'],
  out: './drizzle',
})
