import { Link } from 'react-router';

export function NotFoundPage() {
  return (
    <section className="narrow">
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/networks">Go to your networks</Link>.
      </p>
    </section>
  );
}
