// Accessible dialogs (Radix: focus trapped and restored, Escape closes, labelled by the title)
// and the one-time secret display shared by the screens that create secrets.

import * as AlertDialog from '@radix-ui/react-alert-dialog'
import * as Dialog from '@radix-ui/react-dialog'
import { type ReactNode, useId, useState } from 'react'
import { ErrorText } from './ui.tsx'

export function FormDialog(props: {
  open: boolean
  onOpenChange: (open: boolean) => void
  title: string
  description: string
  children: ReactNode
}) {
  return (
    <Dialog.Root open={props.open} onOpenChange={props.onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>{props.title}</Dialog.Title>
          <Dialog.Description className="hint">{props.description}</Dialog.Description>
          {props.children}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  )
}

export const DialogClose = Dialog.Close

/** A dialog form's Cancel and submit buttons; the submit button says `pendingLabel` while its request runs. */
export function FormActions(props: { pending: boolean; label: string; pendingLabel: string }) {
  return (
    <div className="actions">
      <DialogClose className="secondary">Cancel</DialogClose>
      <button type="submit" disabled={props.pending}>
        {props.pending ? props.pendingLabel : props.label}
      </button>
    </div>
  )
}

export function ConfirmDialog(props: {
  open: boolean
  onOpenChange: (open: boolean) => void
  title: string
  description: ReactNode
  confirm: string
  pending: boolean
  error: string | null
  onConfirm: () => void
}) {
  return (
    <AlertDialog.Root open={props.open} onOpenChange={props.onOpenChange}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="overlay" />
        <AlertDialog.Content className="dialog">
          <AlertDialog.Title>{props.title}</AlertDialog.Title>
          <AlertDialog.Description>{props.description}</AlertDialog.Description>
          <ErrorText error={props.error} />
          <div className="actions">
            <AlertDialog.Cancel className="secondary">Cancel</AlertDialog.Cancel>
            <button
              type="button"
              className="danger"
              disabled={props.pending}
              onClick={(event) => {
                // Stays open until the request is answered; the caller closes it on success.
                event.preventDefault()
                props.onConfirm()
              }}
            >
              {props.confirm}
            </button>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  )
}

/** A secret the server shows once: read-only, selectable, with a copy button. */
export function SecretDialog(props: {
  secret: { label: string; value: string } | null
  onClose: () => void
}) {
  const id = useId()
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle')
  const { secret } = props
  return (
    <Dialog.Root
      open={secret !== null}
      onOpenChange={(open) => {
        if (!open) {
          setCopied('idle')
          props.onClose()
        }
      }}
    >
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>{secret?.label}</Dialog.Title>
          <Dialog.Description>
            Copy it now and keep it somewhere safe: it is not shown again, and core-api stores only its hash.
          </Dialog.Description>
          <label htmlFor={id}>Secret</label>
          <div className="secret">
            <input
              id={id}
              readOnly
              value={secret?.value ?? ''}
              data-testid="secret"
              onFocus={(event) => event.currentTarget.select()}
            />
            <button
              type="button"
              onClick={() =>
                navigator.clipboard.writeText(secret?.value ?? '').then(
                  () => setCopied('copied'),
                  () => setCopied('failed'),
                )
              }
            >
              Copy
            </button>
          </div>
          <p className="hint" aria-live="polite">
            {copied === 'copied' && 'Copied to the clipboard.'}
            {copied === 'failed' && 'The browser refused the clipboard: select the text and copy it.'}
          </p>
          <div className="actions">
            <Dialog.Close>I have stored it</Dialog.Close>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  )
}
