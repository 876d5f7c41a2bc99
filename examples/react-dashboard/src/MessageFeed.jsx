// A second component on the same URL: it shares the dashboard's connection (one session) and
// subscribes to one channel with useWebSocket's channels/onMessage, and publishes with
// sendMessage (queued while offline, resent until acked).
import { useState } from 'react';
import { useWebSocket } from 'steadyws/react';

export function MessageFeed({ url, channel }) {
  const [ids, setIds] = useState([]);
  const [text, setText] = useState('hello');
  const { sendMessage, lastMessage } = useWebSocket(url, {
    channels: [channel],
    onMessage: (m) => setIds((list) => [...list, m.id ?? String(m.seq)]),
  });
  return (
    <section>
      <h3>
        Channel <code>{channel}</code>: <span data-testid="received-count">{ids.length}</span> messages
      </h3>
      <div>
        last: <code data-testid="last-message">{lastMessage ? JSON.stringify(lastMessage.data) : '–'}</code>
      </div>
      <input value={text} onChange={(e) => setText(e.target.value)} data-testid="publish-text" />
      <button data-testid="btn-publish" onClick={() => sendMessage(channel, { text })}>
        Publish
      </button>
      <div hidden data-testid="received-ids">
        {ids.join(',')}
      </div>
    </section>
  );
}
