// The event catalogue: every event type endpoints can subscribe to, what it means, the scope
// subscribing takes, and an example payload exactly as a receiver gets it
// (GET /api/v1/webhooks/event-types).
import { useQuery } from '@tanstack/react-query'
import { Link, useParams } from '@tanstack/react-router'
import { ErrorText } from '../ui.tsx'
import { eventTypesQuery } from './webhooks.tsx'

export function EventTypes() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const types = useQuery(eventTypesQuery(workspaceId))
  return (
    <section aria-labelledby="event-types-title" aria-busy={types.isPending}>
      <p>
        <Link to="/w/$workspaceId/webhooks" params={{ workspaceId }}>
          ← Webhooks
        </Link>
      </p>
      <h1 id="event-types-title">Event catalog</h1>
      <p className="hint">
        Subscribe an endpoint to a type, to every event of a resource (<code>post.*</code>) or to everything (
        <code>*</code>). Subscribing needs the read scope of the resource. Every delivery's body is the
        envelope shown, with the event's <code>data</code>.
      </p>
      <ErrorText error={types.error} />
      <ul className="event-types">
        {types.data?.map((type) => (
          <li key={type.type} data-event-type={type.type}>
            <h2>
              <code>{type.type}</code>
            </h2>
            <p>{type.description}</p>
            <p className="hint">
              Needs <code>{type.read_scope}</code>
            </p>
            <details open>
              <summary>Example payload</summary>
              <pre>{JSON.stringify(type.example, null, 2)}</pre>
            </details>
          </li>
        ))}
      </ul>
    </section>
  )
}
